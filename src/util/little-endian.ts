import { endianness } from "node:os";

/** Whether this machine stores numbers little-endian, as Arrow buffers and gRPC raw tensors do. */
export const LITTLE_ENDIAN = endianness() === "LE";
