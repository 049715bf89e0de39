/**
 * Synthetic inventories for the benchmark: one control plane and N-1 workers on documentation-style addresses, each
 * with a pinned host key (as a real lab would have), in the `nodes` config format.
 */

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRzXbNm6n+HXQR52zAYPUHlzj1nzBJZEwDuyfdjKpI+";

/** `nodes` config (JSON) for `count` nodes: `cp1` and `worker1`…`worker<count-1>` on 10.20.0.0/16 (outside the pod and service CIDRs). */
export function syntheticNodes(count: number): string {
    if (!Number.isInteger(count) || count < 1 || count > 60000) throw new Error(`node count ${count} is out of range`);
    const address = (i: number): string => `10.20.${Math.floor((i + 10) / 250)}.${((i + 10) % 250) + 1}`;
    const nodes = [{ name: "cp1", host: address(0), role: "control-plane", hostKey: HOST_KEY }];
    for (let i = 1; i < count; i++) {
        nodes.push({ name: `worker${i}`, host: address(i), role: "worker", hostKey: HOST_KEY });
    }
    return JSON.stringify(nodes);
}
