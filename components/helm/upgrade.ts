/**
 * In-place chart upgrades: the version-step rule (one minor at a time, up or back) and the read-only guard script that
 * enforces it on the cluster before a Helm release is upgraded. The running version exists only on the cluster, so
 * the decision is made there, by bash; `versionStep` is the same rule as a pure function, and both print the messages
 * built by `versionMessages`, so tests can hold the script to the function row by row.
 *
 * Sources for the rule:
 * - Cilium (docs.cilium.io, Operations → Upgrade Guide, upgrade-warning.rst): "The only tested rollback and upgrade
 *   path is between consecutive minor releases. Always perform rollbacks and upgrades between one minor release at a
 *   time" — going 1.1 → 1.2 and back is supported, 1.1 → 1.3 and back is not.
 * - Istio (istio.io, Upgrade → In-place Upgrades): "The installed Istio version is no more than one minor version less
 *   than the upgrade version", and the in-place procedure "can also perform a downgrade".
 */
import { scriptHeader } from "../remote/script";

/** A `major.minor.patch` version. */
export interface Version {
    readonly major: number;
    readonly minor: number;
    readonly patch: number;
}

/** The version at the start of a tag (`v1.18.0`, `1.31.1-distroless`), or undefined. Same pattern as the script. */
export function parseVersion(text: string): Version | undefined {
    const m = /^v?([0-9]+)\.([0-9]+)\.([0-9]+)/.exec(text);
    return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

/**
 * The tag of a container image reference, as the script cuts it: digest dropped, then what follows the `:` of the
 * last path segment (a registry port is in an earlier segment). Empty when the reference has no tag.
 */
export function imageTag(image: string): string {
    const last = image.split("@")[0].split("/").pop() ?? "";
    return last.includes(":") ? last.slice(last.indexOf(":") + 1) : "";
}

/** What a guard needs to say which component and which config key it is about. */
export interface GuardSubject {
    /** Component name in messages, `Cilium`. */
    readonly component: string;
    /** The stack config key that sets the version, `ciliumVersion`. */
    readonly configKey: string;
    /** What to read before a one-minor rollback (printed in the warning). */
    readonly rollbackAdvice: string;
}

/**
 * The guard's messages. Every argument is text, so the script can pass bash expansions (`$running`) for the values
 * only the cluster knows; the templates themselves contain no character bash would expand inside double quotes.
 */
export const versionMessages = {
    freshInstall: (s: GuardSubject, target: string, where: string): string => `no ${s.component} running yet (no ${where}): installing ${target}`,
    same: (s: GuardSubject, target: string): string => `${s.component} ${target} is already running: nothing to upgrade`,
    patch: (s: GuardSubject, target: string, running: string): string => `${s.component} ${running} -> ${target}: a patch change within one minor, allowed`,
    upgrade: (s: GuardSubject, target: string, running: string): string => `${s.component} ${running} -> ${target}: a one-minor upgrade, allowed`,
    rollback: (s: GuardSubject, target: string, running: string): string =>
        `WARNING: ${s.configKey} ${target} rolls the running ${s.component} ${running} back one minor version. ${s.rollbackAdvice}`,
    skip: (s: GuardSubject, target: string, running: string, minors: string, next: string): string =>
        `${s.configKey}: ${target} would upgrade the running ${s.component} ${running} by ${minors} minor versions, and ${s.component} ` +
        `upgrades one minor at a time — set ${s.configKey} to the newest ${next} patch, run pulumi up, then set it to ${target}`,
    skipBack: (s: GuardSubject, target: string, running: string, minors: string, previous: string): string =>
        `${s.configKey}: ${target} would roll the running ${s.component} ${running} back by ${minors} minor versions, and ${s.component} ` +
        `rolls back one minor at a time — set ${s.configKey} to a ${previous} patch first, or keep ${running}`,
    major: (s: GuardSubject, target: string, running: string): string =>
        `${s.configKey}: ${target} changes the major version of the running ${s.component} ${running}, which no in-place upgrade supports — keep ${s.configKey} on ${running}'s major`,
    unreadable: (s: GuardSubject, image: string, where: string): string =>
        `cannot tell which ${s.component} version runs: the image of ${where} is '${image}', not tagged with a version — ` +
        `refusing to upgrade blind; put back an image tagged with its version, or upgrade by hand`,
} as const;

/** The outcome of comparing the running version with the target. */
export type VersionStep =
    | { readonly verdict: "install" | "same" | "patch" | "upgrade" | "rollback"; readonly message: string }
    | { readonly verdict: "refuse"; readonly message: string };

/**
 * The rule, as a pure function: no running version → install; same minor → allowed (patch up or down); one minor up
 * → allowed; one minor back → allowed with a warning (the documented rollback path); anything further, or a major
 * change, is refused. `runningImage` is the image of the running workload, or undefined when there is none.
 */
export function versionStep(subject: GuardSubject, target: string, runningImage: string | undefined, where: string): VersionStep {
    if (runningImage === undefined) {
        return { verdict: "install", message: versionMessages.freshInstall(subject, target, where) };
    }
    const running = parseVersion(imageTag(runningImage));
    const wanted = parseVersion(target);
    if (!wanted) {
        throw new Error(`${subject.configKey}: ${target} is not major.minor.patch (validation should have refused it)`);
    }
    if (!running) {
        return { verdict: "refuse", message: versionMessages.unreadable(subject, runningImage, where) };
    }
    const runningText = `${running.major}.${running.minor}.${running.patch}`;
    if (running.major !== wanted.major) {
        return { verdict: "refuse", message: versionMessages.major(subject, target, runningText) };
    }
    const minors = wanted.minor - running.minor;
    if (minors > 1) {
        return { verdict: "refuse", message: versionMessages.skip(subject, target, runningText, String(minors), `${running.major}.${running.minor + 1}`) };
    }
    if (minors < -1) {
        return { verdict: "refuse", message: versionMessages.skipBack(subject, target, runningText, String(-minors), `${running.major}.${running.minor - 1}`) };
    }
    if (minors === 1) {
        return { verdict: "upgrade", message: versionMessages.upgrade(subject, target, runningText) };
    }
    if (minors === -1) {
        return { verdict: "rollback", message: versionMessages.rollback(subject, target, runningText) };
    }
    return wanted.patch === running.patch
        ? { verdict: "same", message: versionMessages.same(subject, target) }
        : { verdict: "patch", message: versionMessages.patch(subject, target, runningText) };
}

/** Inputs of a version guard script. */
export interface VersionGuardInput extends GuardSubject {
    /** Script step name, `cilium-version-guard` (log prefix). */
    readonly step: string;
    /** The version the release is about to be upgraded (or installed) to, `major.minor.patch`. */
    readonly target: string;
    /** Namespace of the workload whose image tells the running version. */
    readonly namespace: string;
    /** Its kind. */
    readonly kind: "daemonset" | "deployment";
    /** Its name. */
    readonly name: string;
    /** The container whose image is read. */
    readonly container: string;
}

/** Where a guard looks, as its messages name it. */
export function guardWhere(input: Pick<VersionGuardInput, "namespace" | "kind" | "name" | "container">): string {
    return `${input.kind}/${input.name} (container ${input.container}) in ${input.namespace}`;
}

/**
 * The guard script: reads the workload's image with kubectl (two GETs, nothing else), applies the rule and exits 1
 * with the refusal, or 0 (logging what the step is). Any failed query fails closed. Runs on the control plane as root.
 */
export function versionGuardScript(input: VersionGuardInput): string {
    if (!parseVersion(input.target) || !/^[0-9]+\.[0-9]+\.[0-9]+$/.test(input.target)) {
        throw new Error(`${input.configKey}: ${input.target} is not major.minor.patch`);
    }
    for (const text of [input.component, input.configKey, input.rollbackAdvice]) {
        // The messages are pasted into double-quoted bash strings: nothing in them may expand or end the string.
        if (/["$`\\]/.test(text)) {
            throw new Error(`version guard text must not contain ", $, \` or \\: ${text}`);
        }
    }
    const where = guardWhere(input);
    const m = versionMessages;
    return `${scriptHeader(input.step, {
        TARGET: input.target,
        NS: input.namespace,
        KIND: input.kind,
        NAME: input.name,
        CONTAINER: input.container,
    })}
export KUBECONFIG=/etc/kubernetes/admin.conf
# Read-only: two GETs. A query that fails stops here; an unknown running version never counts as "nothing running".
found=$(kubectl -n "$NS" get "$KIND" "$NAME" --ignore-not-found -o name) \\
  || die "cannot read $KIND/$NAME in $NS from the API server: refusing to upgrade without knowing the running version"
if [ -z "$found" ]; then
  log "${m.freshInstall(input, "$TARGET", where)}"
  exit 0
fi
image=$(kubectl -n "$NS" get "$KIND" "$NAME" -o "jsonpath={.spec.template.spec.containers[?(@.name==\\"$CONTAINER\\")].image}") \\
  || die "cannot read the image of $KIND/$NAME in $NS: refusing to upgrade without knowing the running version"
# The tag: digest dropped, then what follows the ':' of the last path segment (a registry port sits in an earlier one).
last=\${image%%@*}
last=\${last##*/}
tag=""
if [[ $last == *:* ]]; then tag=\${last#*:}; fi
[[ $tag =~ ^v?([0-9]+)\\.([0-9]+)\\.([0-9]+) ]] || die "${m.unreadable(input, "$image", where)}"
major=$((10#\${BASH_REMATCH[1]}))
minor=$((10#\${BASH_REMATCH[2]}))
patch=$((10#\${BASH_REMATCH[3]}))
running="$major.$minor.$patch"
IFS=. read -r want_major want_minor want_patch <<<"$TARGET"
[ "$major" -eq "$want_major" ] || die "${m.major(input, "$TARGET", "$running")}"
minors=$((want_minor - minor))
if [ "$minors" -gt 1 ]; then
  next="$major.$((minor + 1))"
  die "${m.skip(input, "$TARGET", "$running", "$minors", "$next")}"
fi
if [ "$minors" -lt -1 ]; then
  previous="$major.$((minor - 1))"
  die "${m.skipBack(input, "$TARGET", "$running", "$((-minors))", "$previous")}"
fi
case $minors in
  1) log "${m.upgrade(input, "$TARGET", "$running")}" ;;
  -1) log "${m.rollback(input, "$TARGET", "$running")}" ;;
  *)
    if [ "$patch" -eq "$want_patch" ]; then
      log "${m.same(input, "$TARGET")}"
    else
      log "${m.patch(input, "$TARGET", "$running")}"
    fi
    ;;
esac
`;
}
