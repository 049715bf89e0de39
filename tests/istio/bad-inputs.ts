/**
 * Istio's bad-input table: every Istio validation rule, an input that breaks it, and the message it must produce,
 * on top of a valid two-node lab. Shared by the tests and the reliability report (see tests/config/bad-inputs.ts).
 */
import type { RawConfig } from "../../components/config";
import { good, type BadInput } from "../config/bad-inputs";

const lab = (raw: RawConfig): RawConfig => ({ ...good, ...raw });

/** The Istio keys. */
export const ISTIO_BAD_INPUTS: readonly BadInput[] = [
    { rule: "version", raw: lab({ istioVersion: "1.31" }), message: /^istioVersion: "1\.31" is not a chart version — use major\.minor\.patch, e\.g\. 1\.31\.1$/ },
    { rule: "gateway flag", raw: lab({ istioGateway: "maybe" }), message: /^istioGateway: "maybe" — use true or false$/ },
    { rule: "mesh check flag", raw: lab({ istioMeshCheck: "1" }), message: /^istioMeshCheck: "1" — use true or false$/ },
    { rule: "taint flag", raw: lab({ istioCniTaint: "yes" }), message: /^istioCniTaint: "yes" — use true or false$/ },
    { rule: "namespaces not a list", raw: lab({ meshNamespaces: "apps" }), message: /^meshNamespaces: must be a list of namespace names/ },
    { rule: "namespace name", raw: lab({ meshNamespaces: '["Apps"]' }), message: /^meshNamespaces: "Apps" is not a namespace name/ },
    { rule: "system namespace", raw: lab({ meshNamespaces: '["kube-system"]' }), message: /^meshNamespaces: "kube-system" must not be meshed/ },
    { rule: "duplicate namespace", raw: lab({ meshNamespaces: '["apps","apps"]' }), message: /^meshNamespaces: lists a namespace twice/ },
    { rule: "istioValues not a mapping", raw: lab({ istioValues: "- a" }), message: /^istioValues: must be a mapping from chart/ },
    { rule: "istioValues unknown chart", raw: lab({ istioValues: "pilot: {}" }), message: /^istioValues\.pilot: unknown chart — use one of base, cni, istiod, ztunnel, gateway$/ },
    { rule: "istioValues chart not a mapping", raw: lab({ istioValues: "cni: 3" }), message: /^istioValues\.cni: must be a mapping of that chart's values$/ },
    { rule: "override unchains istio-cni", raw: lab({ istioValues: "cni: {chained: false}" }), message: /^istioValues\.cni\.chained: must stay true/ },
    { rule: "override drops pilot.cni", raw: lab({ istioValues: "istiod: {pilot: {cni: {enabled: false}}}" }), message: /^istioValues\.istiod\.pilot\.cni\.enabled: must stay true/ },
    {
        rule: "override moves istio-base's CRDs out of templates (Helm would never upgrade them)",
        raw: lab({ istioValues: "base: {base: {enableCRDTemplates: false}}" }),
        message: /^istioValues\.base\.base\.enableCRDTemplates: must stay true — Helm never upgrades CRDs outside templates/,
    },
    { rule: "ambient without its profile", raw: lab({ istioMode: "ambient", istioValues: "istiod: {profile: default}" }), message: /^istioValues\.istiod\.profile: must be ambient/ },
    { rule: "namespaces not YAML", raw: lab({ meshNamespaces: "[apps" }), message: /^meshNamespaces: not valid YAML\/JSON \(/ },
    { rule: "istioValues not YAML", raw: lab({ istioValues: "istiod: [" }), message: /^istioValues: not valid YAML\/JSON \(/ },
];
