/**
 * `homelab:k8s:KubeadmNode` — one lab host taken from bare Debian/Ubuntu to a kubeadm cluster member.
 *
 * Children, in order (each waits for the one before):
 *   stage → preflight → prepare → membership → leave
 *                                            → init → kubeconfig, ca-cert-hash         (the primary control plane)
 *                                            → [upload-certs →] join-token → join     (other control planes, workers)
 *
 * `leave` has only a `delete`: run on the primary control plane (which has the admin kubeconfig), it drains the node,
 * removes a control plane's etcd member and deletes the Node, before `membership`'s delete resets the host.
 *
 * `membership` and `leave` carry the only destructive commands: `kubeadm reset -f` (and cleanup) and drain/etcd/Node
 * removal, as their `delete`s. Their inputs are a connection and fixed strings, and they have no `triggers`, so no
 * change of version, kubeadm config or script can ever replace them (a replacement would run the old resource's
 * delete against a live node). Pulumi runs those deletes only when the node leaves the stack or the stack is
 * destroyed, after the steps that depend on them are gone.
 */
import * as pulumi from "@pulumi/pulumi";
import { remote, types } from "@pulumi/command";
import { REDACTED, renderInitConfig, renderJoinConfig, type ClusterSettings } from "./config";
import { contentHash, runInline, runStaged, STAGING_DIR } from "../remote/script";
import {
    credentialsScript,
    ensureTokenScript,
    initScript,
    joinScript,
    leaveScript,
    membershipScript,
    preflightScript,
    prepareScript,
    resetScript,
    uploadCertsScript,
} from "./scripts";

/** What a host reported about itself in preflight. */
export interface HostIdentity {
    /** Kubernetes node name from config. */
    readonly node: string;
    /** `hostname` on the host. */
    readonly hostname: string;
    /** `/etc/machine-id` on the host. */
    readonly machineId: string;
}

/** What a worker needs from the initialised control plane to join it. */
export interface JoinSource {
    /** SSH connection to the control plane, where the join token is minted. */
    readonly connection: pulumi.Input<types.input.remote.ConnectionArgs>;
    /** `sha256:<hex>` of the cluster CA public key. */
    readonly caCertHash: pulumi.Input<string>;
    /** Resources that must exist before a token can be minted (the init step and the staged token script). */
    readonly ready: readonly pulumi.Resource[];
    /** Resources that must exist before certificates can be uploaded again (the staged upload-certs script). */
    readonly uploadCertsReady: readonly pulumi.Resource[];
}

/** Arguments of a `KubeadmNode`. */
export interface KubeadmNodeArgs {
    /** Kubernetes node name; also names every child resource, so it must never change for a live node. */
    nodeName: string;
    /** `init` for the primary (first) control plane, `join` for every other node. */
    mode: "init" | "join";
    /** For `join`: `control-plane` joins with `--control-plane` (etcd member, API server, kube-vip). Default `worker`. */
    role?: "control-plane" | "worker";
    /** SSH connection to the host (secret in state: it may carry a private key). */
    connection: pulumi.Input<types.input.remote.ConnectionArgs>;
    /**
     * `user@host:port` of the connection. Staged files live in that user's home, so a change re-uploads them (an
     * unchanged upload is not copied again when only the connection changes).
     */
    sshTarget: string;
    /** IPv4 address the kubelet advertises; omitted lets it pick the default-route address. */
    nodeIp?: string;
    /** Cluster-wide settings. */
    cluster: ClusterSettings;
    /** Bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}` (secret). */
    bootstrapToken: pulumi.Input<string>;
    /**
     * 64 hex characters (secret) encrypting the uploaded control-plane certificates. Required for `init` and for
     * control planes that join.
     */
    certificateKey?: pulumi.Input<string>;
    /** For `join`: the control plane to join. Required when `mode` is `join`. */
    joinSource?: JoinSource;
    /**
     * For `join`: steps this join waits for besides the primary (the previous control plane's join: control planes
     * join one at a time, each growing etcd by one member while the others are healthy).
     */
    joinAfter?: pulumi.Resource[];
    /**
     * SSH connection of the primary control plane, where this node's `leave` drains and deletes it (the node itself
     * has no admin kubeconfig). Omitted for the primary, which uses its own.
     */
    leaveFrom?: pulumi.Input<types.input.remote.ConnectionArgs>;
    /**
     * Steps this node's `membership` is created after: the `leave` steps of the nodes that must be torn down after
     * this one (`pulumi destroy` deletes in reverse: workers first, then control planes last-to-first, the primary
     * last, so the primary can drain every other node).
     */
    membershipAfter?: pulumi.Resource[];
    /**
     * For `join`: identities of nodes created before this one. The join is refused when this host's hostname or
     * machine-id equals one of theirs (cloned VMs), so every pair of nodes is checked once.
     */
    peerIdentities?: pulumi.Input<HostIdentity>[];
}

/** Parses the `hostname=`/`machine-id=` lines preflight prints. */
export function parseIdentity(node: string, stdout: string): HostIdentity {
    const field = (key: string): string => new RegExp(`^${key}=(.*)$`, "m").exec(stdout)?.[1]?.trim() ?? "";
    return { node, hostname: field("hostname"), machineId: field("machine-id") };
}

/** Throws when `self` shares a hostname or machine-id with a peer; the message names both nodes and the fix. */
export function assertDistinctIdentity(self: HostIdentity, peers: readonly HostIdentity[]): void {
    for (const peer of peers) {
        if (peer.machineId !== "" && peer.machineId === self.machineId) {
            throw new Error(
                `nodes: ${self.node} and ${peer.node} have the same /etc/machine-id (${self.machineId}) — they are ` +
                    `clones; on ${self.node} run 'rm /etc/machine-id && systemd-machine-id-setup' and reboot`,
            );
        }
        if (peer.hostname !== "" && peer.hostname === self.hostname) {
            throw new Error(
                `nodes: ${self.node} and ${peer.node} have the same hostname (${self.hostname}) — run ` +
                    `'hostnamectl set-hostname ${self.node}' on ${self.node}`,
            );
        }
    }
}

/** A kubeadm cluster member on one lab host. */
export class KubeadmNode extends pulumi.ComponentResource {
    /** Kubernetes node name. */
    public readonly nodeName: pulumi.Output<string>;
    /** Hostname and machine-id the host reported in preflight. */
    public readonly identity: pulumi.Output<HostIdentity>;
    /** Admin kubeconfig pointing at `controlPlaneEndpoint` (secret). Set on the `init` node only. */
    public readonly kubeconfig?: pulumi.Output<string>;
    /** What workers need to join this control plane. Set on the `init` node only. */
    public readonly joinSource?: JoinSource;
    /** The last step of this node (init or join), for components that must wait for the node. */
    public readonly ready: pulumi.Resource;
    /** The step whose delete drains and deletes this node (before its reset): what must outlive cluster add-ons. */
    public readonly leave: pulumi.Resource;

    constructor(name: string, args: KubeadmNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homelab:k8s:KubeadmNode", name, {}, opts);
        const { connection, cluster, nodeName } = args;
        const child = (extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions => ({
            parent: this,
            ...extra,
        });

        /** Uploads a script; the Command that runs it carries the content hash in `triggers`. */
        const stageFile = (step: string, file: string, content: string, after: pulumi.Resource): remote.CopyToRemote =>
            new remote.CopyToRemote(
                `${name}-${step}`,
                {
                    connection,
                    source: new pulumi.asset.StringAsset(content),
                    remotePath: `${STAGING_DIR}/${file}`,
                    triggers: [args.sshTarget],
                },
                child({ dependsOn: [after] }),
            );

        /**
         * Writes a file whose content is secret and known only during the update (it embeds the bootstrap token or
         * another step's output). It goes through the Command's secret `stdin` rather than CopyToRemote: an upload
         * whose source is still unknown fails `pulumi preview` (pulumi-command#754), and stdin keeps the content out of
         * the command line and the logs. `redactedHash` (the content with secrets masked) is the trigger, so previews
         * still show every real change.
         */
        const writeSecretFile = (step: string, file: string, content: pulumi.Input<string>, redactedHash: string, after: pulumi.Resource): remote.Command =>
            new remote.Command(
                `${name}-${step}`,
                {
                    connection,
                    create: `umask 077 && cat > ${STAGING_DIR}/${file}`,
                    stdin: pulumi.secret(content),
                    triggers: [redactedHash, args.sshTarget],
                    logging: "none",
                },
                child({ dependsOn: [after] }),
            );

        // A private folder for staged files: the kubeadm configs in it carry the bootstrap token.
        const stage = new remote.Command(
            `${name}-stage`,
            {
                connection,
                create: `mkdir -p ${STAGING_DIR} && chmod 0700 ${STAGING_DIR}`,
                delete: `rm -rf ${STAGING_DIR}`,
            },
            child(),
        );

        const controlPlane = args.mode === "init" || args.role === "control-plane";
        const certificateKey = (): pulumi.Input<string> => {
            if (args.certificateKey === undefined) {
                throw new Error(`KubeadmNode ${name}: a control plane needs certificateKey (the uploaded certificates' key)`);
            }
            return args.certificateKey;
        };
        const preflightText = preflightScript({ role: controlPlane ? "control-plane" : "worker" });
        const preflightFile = stageFile("preflight-script", "preflight.sh", preflightText, stage);
        const preflight = new remote.Command(
            `${name}-preflight`,
            { connection, create: runStaged("preflight.sh"), triggers: [contentHash(preflightText)] },
            child({ dependsOn: [preflightFile] }),
        );
        this.identity = preflight.stdout.apply((out) => parseIdentity(nodeName, out));

        const prepareText = prepareScript({ kubernetesVersion: cluster.kubernetesVersion });
        const prepareFile = stageFile("prepare-script", "prepare.sh", prepareText, stage);
        const prepare = new remote.Command(
            `${name}-prepare`,
            { connection, create: runStaged("prepare.sh"), triggers: [contentHash(prepareText)] },
            child({ dependsOn: [preflight, prepareFile] }),
        );

        // The node's lifetime in the cluster. Never replaced (no triggers; a new SSH user or key updates its connection
        // in place, and nothing else of it follows config), so its delete runs only when the node leaves the stack. Create records the node name on the host; the reset runs only
        // while the host still is this node (a rename creates the new node's resources before deleting these).
        const membership = new remote.Command(
            `${name}-membership`,
            {
                connection,
                create: runInline(membershipScript({ nodeName }), "HOMELAB_MEMBER"),
                delete: runInline(resetScript({ nodeName }), "HOMELAB_RESET"),
            },
            child({ dependsOn: [prepare, ...(args.membershipAfter ?? [])] }),
        );

        // Only a delete, no create or triggers: nothing runs until the node leaves the stack, and no config change can
        // replace it. Its inputs are the primary's connection and a script that depends on the node name alone.
        this.leave = new remote.Command(
            `${name}-leave`,
            {
                connection: args.leaveFrom ?? connection,
                delete: runInline(leaveScript({ nodeName, controlPlane }), "HOMELAB_LEAVE"),
            },
            child({ dependsOn: [membership] }),
        );

        if (args.mode === "init") {
            const configInput = { ...cluster, nodeName, nodeIp: args.nodeIp };
            // The hash is taken over the config with the token and the certificate key redacted: previews show every
            // real change, and the trigger is not derived from (so not marked as) a secret.
            const configHash = contentHash(renderInitConfig({ ...configInput, token: REDACTED, certificateKey: REDACTED }));
            const configFile = writeSecretFile(
                "kubeadm-config",
                "kubeadm-init.yaml",
                pulumi
                    .all([args.bootstrapToken, certificateKey()])
                    .apply(([token, key]) => renderInitConfig({ ...configInput, token, certificateKey: key })),
                configHash,
                stage,
            );
            const initText = initScript({
                nodeName,
                schedulableControlPlane: cluster.schedulableControlPlane,
                controlPlaneEndpoint: cluster.controlPlaneEndpoint,
                kubeVip: cluster.kubeVip,
            });
            const initFile = stageFile("init-script", "init.sh", initText, stage);
            const init = new remote.Command(
                `${name}-init`,
                { connection, create: runStaged("init.sh"), triggers: [contentHash(initText), configHash] },
                // kubeadm's own output (join command with token) stays in a root-only log on the host; the little
                // that reaches stdout/stderr is treated as secret all the same.
                child({ dependsOn: [membership, configFile, initFile], additionalSecretOutputs: ["stdout", "stderr"] }),
            );

            const credentialsText = credentialsScript({ controlPlaneEndpoint: cluster.controlPlaneEndpoint });
            const credentialsFile = stageFile("credentials-script", "credentials.sh", credentialsText, stage);
            // Only what admin.conf and the CA hash are made of: the endpoint (in the script) and the cluster name. A
            // version or subnet change re-runs init's checks but leaves admin.conf alone; re-creating the kubeconfig
            // then would make the provider's kubeconfig unknown in `pulumi preview`, which plans every Helm release
            // as replaced (pulumi-kubernetes#4019) and hides the real diff in a pull request.
            const credentialTriggers = [contentHash(credentialsText), contentHash(`clusterName=${cluster.clusterName}`)];
            const kubeconfig = new remote.Command(
                `${name}-kubeconfig`,
                {
                    connection,
                    create: runStaged("credentials.sh", ["kubeconfig"]),
                    triggers: credentialTriggers,
                    logging: "none",
                },
                child({ dependsOn: [init, credentialsFile], additionalSecretOutputs: ["stdout", "stderr"] }),
            );
            const caCertHash = new remote.Command(
                `${name}-ca-cert-hash`,
                { connection, create: runStaged("credentials.sh", ["ca-cert-hash"]), triggers: credentialTriggers },
                child({ dependsOn: [init, credentialsFile] }),
            );
            const tokenText = ensureTokenScript();
            const tokenFile = stageFile("token-script", "ensure-token.sh", tokenText, stage);
            const uploadFile = stageFile("upload-certs-script", "upload-certs.sh", uploadCertsScript(), stage);

            this.kubeconfig = pulumi.secret(kubeconfig.stdout);
            this.joinSource = {
                connection,
                caCertHash: caCertHash.stdout.apply((s) => s.trim()),
                ready: [init, tokenFile],
                uploadCertsReady: [uploadFile],
            };
            this.ready = init;
        } else {
            const source = args.joinSource;
            if (!source) {
                throw new Error(`KubeadmNode ${name}: mode "join" needs joinSource (the initialised control plane)`);
            }
            const joinText = joinScript(
                controlPlane
                    ? { controlPlane: { nodeName, schedulable: cluster.schedulableControlPlane, kubeVip: cluster.kubeVip } }
                    : {},
            );
            const joinConfigInput = (token: string, caCertHash: string, key: string): string =>
                renderJoinConfig({
                    nodeName,
                    nodeIp: args.nodeIp,
                    apiServerEndpoint: cluster.controlPlaneEndpoint,
                    token,
                    caCertHash,
                    startupTaints: cluster.startupTaints,
                    ...(controlPlane
                        ? { controlPlane: { certificateKey: key, advertiseAddress: args.nodeIp, schedulable: cluster.schedulableControlPlane } }
                        : {}),
                });
            const configHash = contentHash(joinConfigInput(REDACTED, REDACTED, REDACTED));
            const joinTriggers = [contentHash(joinText), configHash];
            const after = args.joinAfter ?? [];
            // Control planes: right before joining, upload the certificates again on the primary (kubeadm deletes
            // them two hours after they were uploaded), after the previous control plane has joined.
            const uploadText = uploadCertsScript();
            const uploadCerts = controlPlane
                ? [
                      new remote.Command(
                          `${name}-upload-certs`,
                          {
                              connection: source.connection,
                              create: runStaged("upload-certs.sh"),
                              stdin: `${nodeName}\n`,
                              triggers: [...joinTriggers, contentHash(uploadText)],
                          },
                          child({ dependsOn: [membership, ...source.ready, ...source.uploadCertsReady, ...after] }),
                      ),
                  ]
                : [];
            const tokenText = ensureTokenScript();
            // Right before joining, mint (or confirm) a short-lived token on the control plane. Same triggers as the
            // join, so whenever the join runs again the token is fresh again.
            const joinToken = new remote.Command(
                `${name}-join-token`,
                {
                    connection: source.connection,
                    create: runStaged("ensure-token.sh"),
                    stdin: pulumi
                        .all([args.bootstrapToken, this.identity, pulumi.all(args.peerIdentities ?? [])])
                        .apply(([token, identity, peers]) => {
                            assertDistinctIdentity(identity, peers);
                            return `${token}\n${nodeName}\n${identity.machineId}\n`;
                        }),
                    triggers: [...joinTriggers, contentHash(tokenText)],
                },
                child({ dependsOn: [membership, ...source.ready, ...uploadCerts, ...after] }),
            );
            const joinConfig = writeSecretFile(
                "join-config",
                "kubeadm-join.yaml",
                pulumi
                    .all([args.bootstrapToken, source.caCertHash, controlPlane ? certificateKey() : ""])
                    .apply(([token, caCertHash, key]) => joinConfigInput(token, caCertHash, key)),
                configHash,
                stage,
            );
            const joinFile = stageFile("join-script", "join.sh", joinText, stage);
            const join = new remote.Command(
                `${name}-join`,
                { connection, create: runStaged("join.sh"), triggers: joinTriggers },
                child({
                    dependsOn: [membership, joinToken, ...uploadCerts, joinConfig, joinFile, ...after],
                    additionalSecretOutputs: ["stdout", "stderr"],
                }),
            );
            this.ready = join;
        }

        this.nodeName = pulumi.output(nodeName);
        this.registerOutputs({
            nodeName: this.nodeName,
            identity: this.identity,
            kubeconfig: this.kubeconfig,
        });
    }
}
