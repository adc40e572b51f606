/**
 * What a model's input dataset holds (the `input_type` of its flavor): a danfojs DataFrame, a
 * plain object of column arrays (the fastest), row objects, or an Arrow table — as MLflow's pyfunc
 * models choose between DataFrames, arrays and dicts. NB: a module of its own, importing nothing,
 * so the CLI can list the choices without loading the tabular code.
 */
export const INPUT_TYPES = ["dataframe", "columns", "records", "arrow"] as const;
export type InputType = (typeof INPUT_TYPES)[number];
