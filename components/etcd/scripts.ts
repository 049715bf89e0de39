/**
 * etcd snapshot scripts for the first control plane.
 *
 * The snapshot is taken by `etcdctl` inside kubeadm's etcd static pod (`kubectl exec etcd-<node> -- etcdctl ...`),
 * so its version always matches the running etcd and nothing has to be downloaded or pinned. The etcd image is
 * distroless from etcd 3.5.21 on (used by Kubernetes 1.33+): it has `etcdctl`/`etcdutl` but no shell and no `tar`
 * (scality/metalk8s#4770 switched its backups from `sh -c` to calling etcdctl directly; kubernetes/kubeadm#1898), so
 * `kubectl cp` cannot copy the file out. Instead etcdctl writes it into `/var/lib/etcd`, which kubeadm mounts into the
 * pod from the host (hostPath `etcd-data`), and the host moves it into the snapshot directory. The client
 * certificate is kubeadm's `etcd/healthcheck-client`, mounted in the pod with the rest of `/etc/kubernetes/pki/etcd`.
 *
 * A snapshot holds every Secret of the cluster: files are root-only (0600, directory 0700).
 */
import { scriptHeader as header, STAGING_DIR } from "../remote/script";
import { WRITE_IF_CHANGED } from "../kubeadm/scripts";
import { SNAPSHOT_LOCK, SNAPSHOT_TOOL, SNAPSHOT_UNIT } from "./paths";

export { SNAPSHOT_LOCK, SNAPSHOT_TOOL, SNAPSHOT_UNIT };
/** Where etcdctl writes inside the pod = on the host (kubeadm's hostPath mount of the etcd data directory). */
export const SNAPSHOT_SCRATCH = "/var/lib/etcd/homelab-snapshot.db";

/** Inputs of the snapshot tool. */
export interface SnapshotToolInput {
    /** Kubernetes node name of the control plane whose etcd pod takes the snapshot. */
    readonly nodeName: string;
    /** Absolute directory the snapshots are kept in. */
    readonly dir: string;
    /** How many snapshots to keep (the oldest beyond that are deleted). */
    readonly retain: number;
}

/**
 * homelab-etcd-snapshot [LABEL]: takes one snapshot into DIR as `etcd-<UTC time>[-LABEL].db`, keeps the newest RETAIN
 * and prints the new file's path. Installed as `/usr/local/sbin/homelab-etcd-snapshot`; used on demand, before every
 * upgrade and by the optional timer.
 */
export function snapshotToolScript(input: SnapshotToolInput): string {
    return `${header("etcd-snapshot", {
        NODE: input.nodeName,
        SNAPSHOT_DIR: input.dir,
        RETAIN: String(input.retain),
        SCRATCH: SNAPSHOT_SCRATCH,
        LOCK: SNAPSHOT_LOCK,
    })}
label=\${1:-}
[[ $label =~ ^[A-Za-z0-9._-]*$ ]] || die "the label may hold letters, digits, '.', '_' and '-' only"
[ -f /etc/kubernetes/admin.conf ] || die "/etc/kubernetes/admin.conf is missing: this is not an initialised control plane"
# One snapshot at a time (the timer, a pre-upgrade snapshot, an operator): they share the scratch file.
exec 9>"$LOCK"
flock -w 600 9 || die "another etcd snapshot has held $LOCK for 10 minutes; is one stuck? (fuser -v $LOCK)"
rm -f "$SCRATCH" "$SCRATCH.part"
kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system exec "etcd-$NODE" -- etcdctl \\
  --endpoints=https://127.0.0.1:2379 \\
  --cacert=/etc/kubernetes/pki/etcd/ca.crt \\
  --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \\
  --key=/etc/kubernetes/pki/etcd/healthcheck-client.key \\
  snapshot save "$SCRATCH" >&2 || die "etcdctl snapshot save failed in pod kube-system/etcd-$NODE (output above)"
[ -s "$SCRATCH" ] || die "etcdctl reported success but $SCRATCH is missing or empty"
install -d -m 0700 "$SNAPSHOT_DIR"
name="etcd-$(date -u +%Y%m%dT%H%M%S.%NZ)\${label:+-$label}.db"
chmod 0600 "$SCRATCH"
mv -f "$SCRATCH" "$SNAPSHOT_DIR/$name"
log "saved $SNAPSHOT_DIR/$name"
# Names start with the UTC time, so name order is age order.
mapfile -t old < <(find "$SNAPSHOT_DIR" -maxdepth 1 -name 'etcd-*.db' -printf '%f\\n' | sort -r | tail -n +$((RETAIN + 1)))
for file in "\${old[@]}"; do
  rm -f "$SNAPSHOT_DIR/$file"
  log "removed $SNAPSHOT_DIR/$file (keeping $RETAIN)"
done
printf '%s\\n' "$SNAPSHOT_DIR/$name"
`;
}

/** Inputs of the snapshot tool's installation. */
export interface SnapshotInstallInput {
    /** systemd OnCalendar expression of the periodic snapshot; empty = no timer. */
    readonly schedule: string;
}

/**
 * etcd-snapshot-install: installs the staged tool as /usr/local/sbin/homelab-etcd-snapshot and, with a schedule, a
 * systemd service and timer that run it (`Persistent=true`: a run missed while the host was off happens at boot).
 * Without a schedule an earlier timer is stopped and removed. Every step is guarded; a second run changes nothing.
 */
export function snapshotInstallScript(input: SnapshotInstallInput): string {
    const service = `[Unit]
Description=homelab: etcd snapshot (${SNAPSHOT_TOOL})
After=kubelet.service

[Service]
Type=oneshot
ExecStart=${SNAPSHOT_TOOL} scheduled
`;
    const timer = `[Unit]
Description=homelab: periodic etcd snapshot

[Timer]
OnCalendar=${input.schedule}
Persistent=true

[Install]
WantedBy=timers.target
`;
    return `${header("etcd-snapshot-install", {
        TOOL: SNAPSHOT_TOOL,
        STAGED: `${STAGING_DIR}/etcd-snapshot.sh`,
        SCHEDULE: input.schedule,
        SERVICE_FILE: `/etc/systemd/system/${SNAPSHOT_UNIT}.service`,
        TIMER_FILE: `/etc/systemd/system/${SNAPSHOT_UNIT}.timer`,
        TIMER: `${SNAPSHOT_UNIT}.timer`,
        SERVICE_TEXT: service,
        TIMER_TEXT: timer,
    })}${WRITE_IF_CHANGED}
[ -f "$STAGED" ] || die "$STAGED is missing (was ~/${STAGING_DIR} removed?): re-create it with pulumi up --replace on the etcd-snapshot-script resource"
write_if_changed "$TOOL" 0755 <"$STAGED" || [ "$?" -eq 1 ] || die "could not write $TOOL"
if [ -n "$SCHEDULE" ]; then
  units_changed=0
  if printf '%s' "$SERVICE_TEXT" | write_if_changed "$SERVICE_FILE" 0644; then
    units_changed=1
  elif [ "$?" -ne 1 ]; then
    die "could not write $SERVICE_FILE"
  fi
  if printf '%s' "$TIMER_TEXT" | write_if_changed "$TIMER_FILE" 0644; then
    units_changed=1
  elif [ "$?" -ne 1 ]; then
    die "could not write $TIMER_FILE"
  fi
  if [ "$units_changed" -eq 1 ]; then
    systemctl daemon-reload
  fi
  if [ "$(systemctl is-enabled "$TIMER" 2>/dev/null || true)" != enabled ]; then
    systemctl enable "$TIMER"
  fi
  if [ "$(systemctl is-active "$TIMER" 2>/dev/null || true)" != active ]; then
    systemctl start "$TIMER"
  elif [ "$units_changed" -eq 1 ]; then
    systemctl restart "$TIMER"
  fi
  log "periodic etcd snapshot: OnCalendar=$SCHEDULE"
elif [ -e "$TIMER_FILE" ] || [ -e "$SERVICE_FILE" ]; then
  systemctl disable --now "$TIMER" || true
  rm -f "$TIMER_FILE" "$SERVICE_FILE"
  systemctl daemon-reload
  log "periodic etcd snapshot removed (etcdSnapshotSchedule is empty)"
fi
`;
}
