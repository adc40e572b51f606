// How `predict --workers` cuts a Parquet file into jobs: by row group (each group decoded once, from
// its start) or by a number of chunks. Either way the jobs hold the same chunks as reading the file
// on one thread, in order, and each job's segments are exactly its rows.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_GROUP_JOB_ROWS, planParquetJobs, planParquetJobsByGroup, planParquetWorkerJobs, type ParquetJobPlan } from "../../src/batch/chunk-jobs.js";

const layout = fc.record({
  groups: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 12 }),
  chunkRows: fc.integer({ min: 1, max: 25 }),
  a: fc.nat(),
  b: fc.nat(),
});

function expectWellFormed(jobs: ParquetJobPlan[], groups: readonly number[], chunkRows: number, start: number, end: number): void {
  const oneThread = planParquetJobs(groups, chunkRows, start, end, 1).flatMap((j) => j.chunkSizes);
  expect(jobs.flatMap((j) => j.chunkSizes)).toEqual(oneThread);
  let row = start;
  for (const job of jobs) {
    expect(job.firstRow).toBe(row);
    expect(job.rows).toBe(job.chunkSizes.reduce((x, y) => x + y, 0));
    expect(job.segments.reduce((n, s) => n + s.limit, 0)).toBe(job.rows);
    row += job.rows;
  }
  expect(row).toBe(Math.max(start, end));
}

describe("Parquet jobs for --workers", () => {
  it("by row group and by chunks: the one-thread chunks, in order, each job's segments its rows", () => {
    fc.assert(
      fc.property(layout, ({ groups, chunkRows, a, b }) => {
        const total = groups.reduce((x, y) => x + y, 0);
        const start = total === 0 ? 0 : a % total;
        const end = start + (total === 0 ? 0 : b % (total - start + 1));
        expectWellFormed(planParquetJobsByGroup(groups, chunkRows, start, end), groups, chunkRows, start, end);
        expectWellFormed(planParquetJobs(groups, chunkRows, start, end, 3), groups, chunkRows, start, end);
      }),
      { numRuns: 500, seed: 15 },
    );
  });

  it("by row group: a job per group its chunks start in, so no group is begun by two jobs but for a straddling chunk's rows", () => {
    // Groups of 10, 10, 10 rows; chunks of 4: chunks start at 0, 4, 8 | 12, 16 | 20, 24, 28.
    const jobs = planParquetJobsByGroup([10, 10, 10], 4, 0, 30);
    expect(jobs.map((j) => [j.firstRow, j.rows])).toEqual([
      [0, 12],
      [12, 8],
      [20, 10],
    ]);
    expect(jobs[0]?.segments).toEqual([
      { group: 0, offset: 0, limit: 10 },
      { group: 1, offset: 0, limit: 2 },
    ]);
    expect(jobs[1]?.segments).toEqual([{ group: 1, offset: 2, limit: 8 }]);
  });

  it("--workers: by row group when each thread gets two and groups are not too big; else chunk jobs of at most 65,536 rows", () => {
    const flights = Array.from({ length: 11 }, () => 272_727);
    const total = 11 * 272_727;
    const byGroup = planParquetWorkerJobs(flights, 10_000, 0, total, 2);
    expect(byGroup.map((job) => job.segments[0]?.group)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // pyarrow's groups of 1 Mi rows: a job per group would hold too many rows' answers.
    const big = [2 ** 20, 2 ** 20, 2 ** 20, 2 ** 20];
    expect(Math.max(...big)).toBeGreaterThan(MAX_GROUP_JOB_ROWS);
    const cut = planParquetWorkerJobs(big, 10_000, 0, 2 ** 22, 2);
    expect(Math.max(...cut.map((j) => j.rows))).toBeLessThanOrEqual(70_000);
    // Too few groups for the threads: chunk jobs.
    expect(planParquetWorkerJobs([100, 100], 10, 0, 200, 2).length).toBeGreaterThan(2);
    expectWellFormed(cut, big, 10_000, 0, 2 ** 22);
  });
});
