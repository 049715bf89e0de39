/**
 * Cilium's stack config: parses its keys, builds the chart values, merges the user's `ciliumValues` overrides and
 * runs the guard over the result. Pure; called by `resolveConfig` so every problem is reported before any resource
 * is registered.
 */
import * as YAML from "yaml";
import { parseIpv4Cidr } from "../config/net";
import { booleanKey } from "../config/parse";
import { buildCiliumValues, checkCiliumValues, deepMerge, type IstioMode, type RoutingMode, type ValueTree } from "./values";

/** Chart version the lab runs (`cilium install --version v1.18.0` in the notes). */
export const DEFAULT_CILIUM_VERSION = "1.18.0";
/**
 * cilium CLI release: v0.18.9, the last of the v0.18 line that was the CLI's stable channel while Cilium 1.18 was
 * current (cilium/cilium-cli PR #3149 "Update stable release to v0.18.9"). The CLI needs ≥ v0.15 for Helm mode.
 */
export const DEFAULT_CILIUM_CLI_VERSION = "v0.18.9";
/** The Cilium minor this project's values and checks are tested against. */
export const TESTED_CILIUM_MINOR = "1.18";

/** Resolved Cilium settings. */
export interface CiliumConfig {
    /** Helm chart version, `1.18.0`. */
    readonly chartVersion: string;
    /** cilium CLI release tag, `v0.18.9`. */
    readonly cliVersion: string;
    /** Effective chart values: built from config, then `ciliumValues` merged over them. */
    readonly values: ValueTree;
    /** Istio mode the values were built for. */
    readonly istio: IstioMode;
}

/** Raw values of the Cilium and Istio keys (strings, as the engine passes config). */
export interface CiliumRawKeys {
    readonly ciliumVersion: string;
    readonly ciliumCliVersion: string;
    readonly hubbleRelay: string;
    readonly hubbleUi: string;
    readonly ciliumRoutingMode: string;
    readonly ciliumNativeRoutingCidr: string;
    readonly ciliumPodCidrMaskSize: string;
    readonly ciliumValues: string;
}

/** What Cilium needs to know about the cluster (already validated). */
export interface CiliumClusterFacts {
    readonly clusterName: string;
    readonly apiServerHost: string;
    readonly apiServerPort: number;
    readonly podSubnet: string;
    readonly serviceSubnet: string;
    readonly nodeCount: number;
    readonly hasSchedulableNode: boolean;
    /** Keys of taints nodes start with (Istio's opt-in cni.istio.io/not-ready). */
    readonly startupTaintKeys: readonly string[];
}

/**
 * Parses the keys and, when `cluster` is given (the cluster part of the config is valid), builds and checks the
 * effective values.
 */
export function resolveCiliumConfig(
    raw: CiliumRawKeys,
    cluster: CiliumClusterFacts | undefined,
    istio: IstioMode,
): { config?: CiliumConfig; errors: string[]; warnings: string[] } {
    const errors: string[] = [];
    const warnings: string[] = [];

    const version = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(raw.ciliumVersion.trim());
    if (!version) {
        errors.push(`ciliumVersion: "${raw.ciliumVersion}" is not a chart version — use major.minor.patch, e.g. ${DEFAULT_CILIUM_VERSION}`);
    } else if (`${version[1]}.${version[2]}` !== TESTED_CILIUM_MINOR) {
        warnings.push(
            `ciliumVersion: ${version.slice(1).join(".")} is outside the tested ${TESTED_CILIUM_MINOR} line — the values and checks ` +
                "were verified against the 1.18 chart",
        );
    }
    const cliVersion = raw.ciliumCliVersion.trim();
    if (!/^v\d+\.\d+\.\d+$/.test(cliVersion)) {
        errors.push(`ciliumCliVersion: "${cliVersion}" is not a cilium-cli release tag — use e.g. ${DEFAULT_CILIUM_CLI_VERSION}`);
    }
    const hubbleRelay = booleanKey("hubbleRelay", raw.hubbleRelay, errors);
    const hubbleUi = booleanKey("hubbleUi", raw.hubbleUi, errors);
    const routingMode = raw.ciliumRoutingMode.trim();
    if (routingMode !== "tunnel" && routingMode !== "native") {
        errors.push(`ciliumRoutingMode: "${routingMode}" — use tunnel (VXLAN, works anywhere) or native (nodes on one L2 segment)`);
    }
    const nativeCidr = raw.ciliumNativeRoutingCidr.trim();
    if (nativeCidr !== "") {
        const parsed = parseIpv4Cidr(nativeCidr);
        if (!parsed.ok) {
            errors.push(`ciliumNativeRoutingCidr: "${nativeCidr}" ${parsed.reason}${parsed.suggestion ? ` — use ${parsed.suggestion}` : ""}`);
        }
    }
    const maskText = raw.ciliumPodCidrMaskSize.trim();
    const maskSize = Number(maskText);
    if (!/^\d+$/.test(maskText)) {
        errors.push(`ciliumPodCidrMaskSize: "${maskText}" — use the prefix length of each node's pod block, e.g. 24`);
    }
    let overrides: ValueTree = {};
    if (raw.ciliumValues.trim() !== "") {
        try {
            const parsed: unknown = YAML.parse(raw.ciliumValues);
            if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
                errors.push("ciliumValues: must be a YAML/JSON mapping of chart values, e.g. {hubble: {metrics: {enabled: [dns]}}}");
            } else {
                overrides = parsed as ValueTree;
            }
        } catch (err) {
            errors.push(`ciliumValues: not valid YAML/JSON (${(err as Error).message.split("\n")[0]})`);
        }
    }

    if (cluster && cluster.clusterName.length > 32) {
        // The chart's cluster.name: "It must contain at most 32 characters" (values.yaml, cluster.name).
        errors.push(`clusterName: "${cluster.clusterName}" is longer than the 32 characters Cilium allows for its cluster name — shorten it`);
    }
    if (errors.length > 0 || !cluster || !version) {
        return { errors, warnings };
    }
    const built = buildCiliumValues({
        clusterName: cluster.clusterName,
        apiServerHost: cluster.apiServerHost,
        apiServerPort: cluster.apiServerPort,
        podSubnet: cluster.podSubnet,
        podCidrMaskSize: maskSize,
        nodeCount: cluster.nodeCount,
        hubbleRelay,
        hubbleUi,
        routingMode: routingMode as RoutingMode,
        nativeRoutingCidr: nativeCidr || undefined,
        istio,
        startupTaintKeys: cluster.startupTaintKeys,
    });
    const values = deepMerge(built as unknown as ValueTree, overrides);
    errors.push(
        ...checkCiliumValues(values, {
            nodeCount: cluster.nodeCount,
            hasSchedulableNode: cluster.hasSchedulableNode,
            istio,
            podSubnet: cluster.podSubnet,
            serviceSubnet: cluster.serviceSubnet,
        }),
    );
    if (errors.length > 0) {
        return { errors, warnings };
    }
    return { config: { chartVersion: version.slice(1).join("."), cliVersion, values, istio }, errors, warnings };
}
