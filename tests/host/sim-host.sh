#!/usr/bin/env bash
# Builds one simulated host inside a fresh, private mount namespace, then holds the namespace open until stdin closes.
# Run by tests/host/harness.ts as `unshare [--user --map-root-user --cgroup] --mount --propagation private bash
# sim-host.sh SIM_DIR`; commands then run inside with nsenter. Nothing here (or in the scripts run later) can reach
# the real host's files: every system path a script writes is an overlay whose upper layer is on a private tmpfs.
#
# SIM_DIR (prepared by the harness on the real file system):
#   fixture/   files to place on the host, by absolute path (only under the overlaid directories)
#   state/     the initial $SIM_STATE/db tree
#   proc/      meminfo and modules, shown as /proc/meminfo and /proc/modules
#   sys-module names of the kernel's modules (loaded or built in), one a line: the directories of /sys/module
#   cgroup     "v2" (cgroup2 on /sys/fs/cgroup) or "v1" (a tmpfs there, as on a cgroup v1 host)
#   home/      the SSH user's $HOME (staged files go in home/.homelab)
#   mnt/       mount point of the private tmpfs ($SIM_ROOT): overlay layers, $SIM_STATE and the commands' $TMPDIR
set -euo pipefail
export LC_ALL=C

sim_dir=$1
root=$sim_dir/mnt
readonly OVERLAID=(/etc /var/lib /var/log /opt /usr/local /run)
# Paths a fresh host must not have, whatever the machine running the tests has there.
readonly HIDDEN=(
  /etc/kubernetes /etc/containerd /etc/cni /etc/fstab.homelab.bak /etc/sysctl.conf
  /var/lib/kubelet /var/lib/etcd /var/lib/containerd /var/log/homelab /opt/cni /usr/local/bin/cilium
)
# Directories whose real contents are hidden (the simulated host starts with them empty).
readonly EMPTIED=(/etc/apt/keyrings /etc/apt/sources.list.d /etc/modules-load.d /etc/sysctl.d)
# Real directories scripts write into whose contents stay visible (cilium-cli.sh installs /usr/local/bin/cilium).
readonly WRITTEN=(/usr/local/bin)

die() { printf 'sim-host: %s\n' "$*" >&2; exit 1; }
layer() { printf '%s/layers/%s' "$root" "$(tr / _ <<<"$1")"; }
overlaid_root() { # PATH: the overlaid directory PATH is under, or nothing
  local dir
  for dir in "${OVERLAID[@]}"; do
    if [ "$1" = "$dir" ] || [[ $1 == "$dir"/* ]]; then printf '%s\n' "$dir"; return; fi
  done
}
# In a user namespace the real files belong to an unmapped owner, so the simulated root may not write into their
# directories. Giving each such directory a copy in the upper layer (same mode, owned by us) makes it writable while
# it still shows the real contents.
own_dirs() { # PATH: for each existing real ancestor directory of PATH under an overlaid root
  local top rel part dir upper
  top=$(overlaid_root "$1")
  [ -n "$top" ] || die "$1 is outside the simulated directories (${OVERLAID[*]})"
  rel=${1#"$top"}
  dir=$top
  upper=$(layer "$top")/upper
  IFS=/ read -r -a parts <<<"${rel#/}"
  for part in "${parts[@]}"; do
    [ -n "$part" ] || continue
    dir=$dir/$part
    upper=$upper/$part
    [ -d "$dir" ] && [ ! -L "$dir" ] || return 0
    mkdir -p "$upper"
    chmod "$(stat -c %a "$dir")" "$upper"
  done
}

mkdir -p "$root"
mount -t tmpfs -o mode=0755 sim-host "$root"

# 1. Overlays over the system directories.
for dir in "${OVERLAID[@]}"; do
  mkdir -p "$(layer "$dir")/upper" "$(layer "$dir")/work"
  chmod "$(stat -c %a "$dir")" "$(layer "$dir")/upper"
done
for path in "${EMPTIED[@]}" "${WRITTEN[@]}"; do own_dirs "$path"; done
while IFS= read -r -d '' file; do
  own_dirs "$(dirname "/${file#./}")"
done < <(cd "$sim_dir/fixture" && find . -mindepth 1 \( -type f -o -type l \) -print0)
for dir in "${OVERLAID[@]}"; do
  mount -t overlay overlay -o "lowerdir=$dir,upperdir=$(layer "$dir")/upper,workdir=$(layer "$dir")/work" "$dir"
done

# 2. A fresh host: no trace of Kubernetes, whatever the real machine has.
for path in "${HIDDEN[@]}"; do
  if [ -e "$path" ] || [ -L "$path" ]; then
    if ! rm -rf "$path" 2>/dev/null; then
      [ -d "$path" ] || die "cannot hide $path"
      mount -t tmpfs -o mode=0755 sim-hidden "$path"
    fi
  fi
done
for dir in "${EMPTIED[@]}"; do
  [ -d "$dir" ] && find "$dir" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
done

# 3. The test's fixture files.
while IFS= read -r -d '' file; do
  target=/${file#./}
  mkdir -p "$(dirname "$target")"
  rm -rf "$target"
  cp -P --preserve=mode "$sim_dir/fixture/$file" "$target"
done < <(cd "$sim_dir/fixture" && find . -mindepth 1 \( -type f -o -type l \) -print0)

# 4. Stub state, and $TMPDIR (mktemp's directory: private, and in every snapshot, so leftovers show).
mkdir -p "$root/state/fail" "$root/state/hooks" "$root/tmp"
chmod 1777 "$root/tmp"
cp -R "$sim_dir/state" "$root/state/db"
: >"$root/state/calls.log"
echo 0 >"$root/state/mutations"

# 5. /proc with controlled meminfo and modules (this kernel may not even have /proc/modules): a tmpfs whose other
#    entries link to the real proc, so /proc/self, /dev/fd and process substitution keep working.
mkdir -p "$root/realproc"
mount --rbind /proc "$root/realproc"
mount -t tmpfs -o mode=0755 sim-proc /proc
for entry in "$root"/realproc/*; do
  name=${entry##*/}
  case $name in
    *[!0-9]*) [ "$name" = meminfo ] || [ "$name" = modules ] || ln -s "$entry" "/proc/$name" ;;
  esac
done
cp "$sim_dir/proc/meminfo" "$sim_dir/proc/modules" /proc/

# 6. /sys/module with the modules the test says the kernel has (loaded ones and built-in ones): a tmpfs, so modprobe
#    can add to it and snapshots see it.
mount -t tmpfs -o mode=0755 sim-sys-module /sys/module
while IFS= read -r module; do
  [ -z "$module" ] || mkdir -p "/sys/module/$module"
done <"$sim_dir/sys-module"

# 6b. /sys/fs/bpf, where Cilium pins its maps: a private tmpfs, so a reset that removes pinned state touches nothing of
#     the machine running the tests.
if [ -d /sys/fs/bpf ]; then
  mount -t tmpfs -o mode=0700 sim-bpffs /sys/fs/bpf
fi

# 7. cgroup v2 or (as far as `stat -f` can tell) v1.
case $(cat "$sim_dir/cgroup") in
  v2) mount -t cgroup2 sim-cgroup2 /sys/fs/cgroup ;;
  v1) mount -t tmpfs -o mode=0755 sim-cgroup1 /sys/fs/cgroup ;;
  *) die "cgroup must be v1 or v2" ;;
esac

echo ready
read -r _ || true
