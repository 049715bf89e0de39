/**
 * The benchmark's growth verdict (tools/bench/plan.ts): per-node cost between sizes, t(100)/t(10), and linear growth
 * judged on the intervals from 10 nodes on, where the fixed cost of an evaluation no longer dominates.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { growth, median, type PlanSizeResult } from "../../tools/bench/plan";

/** Results with the given median times per size (samples are not read by `growth`). */
function results(times: Readonly<Record<number, number>>): PlanSizeResult[] {
    return Object.entries(times).map(([nodes, ms]) => ({ nodes: Number(nodes), samples: [], medianMs: ms, peakRssKiB: 0, baseRssKiB: 0 }));
}

test("a fixed cost plus a constant cost per node is linear, whatever the small sizes do", () => {
    // 1000 ms fixed, 20 ms a node; the 1→3 and 3→10 steps are noisy, as on a loaded machine.
    const g = growth(results({ 1: 1020, 3: 1500, 10: 1200, 50: 2000, 100: 3000 }));
    assert.equal(g.linear, true);
    assert.deepEqual(
        g.marginal.map((m) => [m.from, m.to, m.msPerNode]),
        [[1, 3, 240], [3, 10, -300 / 7], [10, 50, 20], [50, 100, 20]],
    );
    assert.equal(g.ratio100to10, 2.5);
});

test("a per-node cost that doubles between 50 and 100 nodes is not linear", () => {
    const g = growth(results({ 1: 1000, 10: 1200, 50: 2000, 100: 4000 }));
    assert.equal(g.linear, false, "20 ms a node from 10 to 50, then 40 ms a node");
});

test("fewer than two intervals from 10 nodes on cannot show a trend, and t(100)/t(10) needs both sizes", () => {
    const g = growth(results({ 1: 1000, 10: 1100, 100: 9000 }));
    assert.equal(g.linear, true);
    assert.equal(growth(results({ 1: 1000, 50: 2000 })).ratio100to10, undefined);
});

test("median of an odd and an even number of samples", () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
});
