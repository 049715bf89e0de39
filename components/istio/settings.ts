/**
 * Istio's stack config: parses its keys, builds and merges the chart values, and checks them. Pure; called by
 * `resolveConfig` so every problem is reported before any resource is registered.
 */
import * as YAML from "yaml";
import { isDnsName } from "../config/net";
import { booleanKey } from "../config/parse";
import { isPlainObject, valueAt, type ValueTree } from "../helm/values";
import { istioSupportWarning, type IstioMode } from "./guard";
import { buildIstioValues, checkIstioValues, ISTIO_CHARTS, mergeIstioValues, type IstioChart } from "./values";

/** Istio release installed by default (newest 1.31 patch in the docs read: 1.31.1, 2026-09-21). */
export const DEFAULT_ISTIO_VERSION = "1.31.1";
/** Namespaces that must never be meshed. */
const UNMESHABLE = ["kube-system", "kube-public", "kube-node-lease", "istio-system", "istio-ingress"];

/** Resolved Istio settings (absent when `istioEnabled` is false). */
export interface IstioConfig {
    /** Sidecar or ambient. */
    readonly mode: "sidecar" | "ambient";
    /** Chart version, `1.31.1`. */
    readonly version: string;
    /** Install the ingress gateway (`istio-ingress`). */
    readonly gateway: boolean;
    /** Namespaces labelled for the mesh. */
    readonly meshNamespaces: readonly string[];
    /** Effective values per chart. */
    readonly values: Readonly<Record<IstioChart, ValueTree>>;
    /** Run the mesh-check smoke test after the install. */
    readonly meshCheck: boolean;
    /** Start nodes with the `cni.istio.io/not-ready` taint and let istiod remove it. */
    readonly cniTaint: boolean;
}

/** Raw values of the Istio keys. */
export interface IstioRawKeys {
    readonly istioEnabled: string;
    readonly istioMode: string;
    readonly istioVersion: string;
    readonly istioGateway: string;
    readonly meshNamespaces: string;
    readonly istioValues: string;
    readonly istioMeshCheck: string;
    readonly istioCniTaint: string;
}

/** Parses and checks the Istio keys; `mode` is `off` when Istio is disabled. */
export function resolveIstioConfig(
    raw: IstioRawKeys,
    kubernetesVersion: string | undefined,
): { mode: IstioMode; config?: IstioConfig; errors: string[]; warnings: string[] } {
    const errors: string[] = [];
    const warnings: string[] = [];
    const enabled = booleanKey("istioEnabled", raw.istioEnabled, errors);
    const modeText = raw.istioMode.trim();
    const mode = modeText === "sidecar" || modeText === "ambient" ? modeText : undefined;
    if (!mode) {
        errors.push(`istioMode: "${modeText}" — use sidecar or ambient`);
    }
    const version = raw.istioVersion.trim().replace(/^v/, "");
    if (!/^\d+\.\d+\.\d+$/.test(version)) {
        errors.push(`istioVersion: "${raw.istioVersion}" is not a chart version — use major.minor.patch, e.g. ${DEFAULT_ISTIO_VERSION}`);
    } else if (enabled && kubernetesVersion) {
        const warning = istioSupportWarning(version, kubernetesVersion);
        if (warning) {
            warnings.push(warning);
        }
    }
    const gateway = booleanKey("istioGateway", raw.istioGateway, errors);
    const meshCheck = booleanKey("istioMeshCheck", raw.istioMeshCheck, errors);
    const cniTaint = booleanKey("istioCniTaint", raw.istioCniTaint, errors);

    let meshNamespaces: string[] = [];
    try {
        const parsed: unknown = raw.meshNamespaces.trim() === "" ? [] : YAML.parse(raw.meshNamespaces);
        if (!Array.isArray(parsed) || !parsed.every((n) => typeof n === "string")) {
            errors.push('meshNamespaces: must be a list of namespace names, e.g. ["apps"]');
        } else {
            meshNamespaces = parsed;
        }
    } catch (err) {
        errors.push(`meshNamespaces: not valid YAML/JSON (${(err as Error).message.split("\n")[0]})`);
    }
    for (const ns of meshNamespaces) {
        if (!isDnsName(ns) || ns.includes(".") || ns !== ns.toLowerCase() || ns.length > 63) {
            errors.push(`meshNamespaces: "${ns}" is not a namespace name — use lowercase letters, digits and '-'`);
        } else if (UNMESHABLE.includes(ns)) {
            errors.push(`meshNamespaces: "${ns}" must not be meshed — list only your application namespaces`);
        }
    }
    if (new Set(meshNamespaces).size !== meshNamespaces.length) {
        errors.push("meshNamespaces: lists a namespace twice — list each once");
    }

    let overrides: Partial<Record<IstioChart, ValueTree>> = {};
    if (raw.istioValues.trim() !== "") {
        try {
            const parsed: unknown = YAML.parse(raw.istioValues);
            if (!isPlainObject(parsed)) {
                errors.push(`istioValues: must be a mapping from chart (${ISTIO_CHARTS.join(", ")}) to values, e.g. {istiod: {pilot: {replicaCount: 2}}}`);
            } else {
                for (const [chart, values] of Object.entries(parsed)) {
                    if (!(ISTIO_CHARTS as readonly string[]).includes(chart)) {
                        errors.push(`istioValues.${chart}: unknown chart — use one of ${ISTIO_CHARTS.join(", ")}`);
                    } else if (!isPlainObject(values)) {
                        errors.push(`istioValues.${chart}: must be a mapping of that chart's values`);
                    }
                }
                overrides = parsed;
            }
        } catch (err) {
            errors.push(`istioValues: not valid YAML/JSON (${(err as Error).message.split("\n")[0]})`);
        }
    }

    if (!enabled || !mode || errors.length > 0) {
        return { mode: enabled && mode ? mode : "off", errors, warnings };
    }
    const values = mergeIstioValues(buildIstioValues({ mode, cniTaint }), overrides);
    errors.push(...checkIstioValues(values, mode));
    if (gateway && valueAt(values.gateway, "service.type") === "LoadBalancer") {
        warnings.push(
            "istioValues.gateway.service.type: LoadBalancer — Helm waits for the Service to get a load-balancer address (up to 10 " +
                "minutes, then pulumi up fails); make sure something assigns one (MetalLB, a Cilium LB-IPAM pool) or keep NodePort",
        );
    }
    if (errors.length > 0) {
        return { mode, errors, warnings };
    }
    return { mode, config: { mode, version, gateway, meshNamespaces, values, meshCheck, cniTaint }, errors, warnings };
}
