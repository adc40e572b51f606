/**
 * Compile-time checks of `node()`: a node function's parameters against its `inputs`, its result
 * against its `outputs`, and `params:` inputs typed from the project's declared parameters. They
 * cost nothing at run time; the run-time checks in `Node` stay for JavaScript callers.
 */

/**
 * The types of a project's parameters (conf/parameters.yml), for the `params:` inputs of its
 * nodes. Empty by default, so every param is `any`. Declare yours once in the project:
 *
 * ```ts
 * declare module "pipeserve" {
 *   interface PipelineParameters { factor: number; model: { depth: number } }
 * }
 * ```
 * Then `node((x, factor: string) => …, { inputs: ["x", "params:factor"], … })` is a type error,
 * and `params:model.depth` is a `number`.
 */
export interface PipelineParameters {}

/**
 * The types of a project's datasets by name, for node inputs. Empty by default (every dataset is
 * `any`); declare them as `PipelineParameters` to have inputs checked:
 * `interface PipelineDatasets { instances: ColumnTable }`.
 */
export interface PipelineDatasets {}

type IsAny<T> = 0 extends 1 & T ? true : false;

/** The value at a dotted path of `T` (`model.depth`), or `any` where `T` does not declare it. */
// biome-ignore lint/suspicious/noExplicitAny: an undeclared param may be anything
type PathValue<T, P extends string> = P extends keyof T ? T[P] : P extends `${infer H}.${infer R}` ? (H extends keyof T ? PathValue<T[H], R> : any) : any;

/** What the function receives for one input name. */
export type InputValue<N> = N extends `params:${infer K}`
  ? PathValue<PipelineParameters, K>
  : N extends "parameters"
    ? keyof PipelineParameters extends never
      ? // biome-ignore lint/suspicious/noExplicitAny: no parameters declared
        any
      : PipelineParameters
    : N extends keyof PipelineDatasets
      ? PipelineDatasets[N]
      : // biome-ignore lint/suspicious/noExplicitAny: an undeclared dataset may be anything
        any;

/** The arguments a node function receives for its `inputs`: none, one, one per name in order, or one object. */
export type NodeArgs<I> = I extends null
  ? []
  : I extends string
    ? [InputValue<I>]
    : I extends readonly string[]
      ? { -readonly [K in keyof I]: InputValue<I[K]> }
      : I extends Readonly<Record<string, string>>
        ? [{ -readonly [K in keyof I]: InputValue<I[K]> }]
        : unknown[];

/** The arguments with the run's AbortSignal last when `signal: true`. */
export type NodeArgsWithSignal<I, S> = S extends true ? [...NodeArgs<I>, AbortSignal] : NodeArgs<I>;

/** A function `node()` accepts for these inputs: its parameters are checked, its result free. */
export type NodeFunctionFor<I, S> = (...args: NodeArgsWithSignal<I, S>) => unknown;

type Arity<F> = F extends (...args: infer A) => unknown ? A["length"] : number;

/** NB: a function of no parameters (or only optional ones) may ignore its inputs, as JavaScript allows. */
type CountProblem<F, I, S> =
  number extends Arity<F>
    ? never
    : 0 extends Arity<F>
      ? never
      : number extends NodeArgsWithSignal<I, S>["length"]
        ? never
        : NodeArgsWithSignal<I, S>["length"] extends Arity<F>
          ? never
          : `the function takes ${Arity<F>} argument(s), but its inputs give it ${NodeArgsWithSignal<I, S>["length"] & number}`;

type Returned<F> = F extends (...args: never[]) => infer R ? Awaited<R> : unknown;

type OutputProblem<R, O> =
  IsAny<R> extends true
    ? never
    : unknown extends R
      ? never
      : O extends null | string
        ? never
        : O extends readonly string[]
          ? R extends readonly unknown[]
            ? number extends R["length"]
              ? never
              : R["length"] extends O["length"]
                ? never
                : `the function returns ${R["length"]} value(s), but outputs name ${O["length"]} dataset(s)`
            : `outputs name ${O["length"]} datasets by position, so the function must return an array of ${O["length"]} values`
          : O extends Readonly<Record<string, string>>
            ? Exclude<keyof O, keyof R> extends never
              ? never
              : `outputs name key(s) ${Exclude<keyof O, keyof R> & string} that the function's result does not have`
            : never;

/**
 * `unknown` when the function fits its inputs and outputs, else an object type whose one key
 * states the problem, so the editor's error says what is wrong.
 */
export type NodeCheck<F, I, O, S> = [CountProblem<F, I, S> | OutputProblem<Returned<F>, O>] extends [never]
  ? unknown
  : { "node() type error": CountProblem<F, I, S> | OutputProblem<Returned<F>, O> };
