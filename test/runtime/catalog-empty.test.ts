import { describe, expect, it } from "vitest";
import { DataCatalog, DatasetError, MemoryDataset } from "../../src/index.js";

describe("loading an in-memory dataset nobody saved to", () => {
  it("names the dataset and says what to do", async () => {
    const catalog = new DataCatalog({ scaler: new MemoryDataset() });
    const load = catalog.load("scaler");
    await expect(load).rejects.toThrow(DatasetError);
    await expect(catalog.load("scaler")).rejects.toThrow(/^Dataset "scaler" has no data yet: .*Save to it \(or feed it\) before a node reads it\.$/);
  });
});
