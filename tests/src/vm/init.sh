#!/bin/busybox sh
# /init of the cnm test VM (tests/src/vm/mod.rs).
#
# Stage 1 re-roots onto a bind mount of the initramfs: pivot_root(2) refuses
# the initramfs itself (its mount has no parent), and the runtime under test
# pivots into every container's rootfs. Stage 2 mounts what a host has
# (proc, sys, dev, cgroup2 with memory, cpu and pids enabled for children as
# systemd does), loads the modules in /vm/modules, runs /vm/test.sh between
# two markers the harness looks for, and powers off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

if [ "$1" != stage2 ]; then
	# Applets where a distribution has them: the kernel runs /sbin/modprobe.
	/bin/busybox --install -s
	mkdir -p /newroot
	mount --bind / /newroot
	cd /newroot || exit 1
	mount --move . /
	exec chroot . /init stage2
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp /var
mount -t devpts devpts /dev/pts
# What udev would add: nft -f - opens /dev/stdin, for one.
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
for dir in /dev/shm /run /tmp /var; do
	mount -t tmpfs tmpfs "$dir"
done
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo '+memory +cpu +pids' >/sys/fs/cgroup/cgroup.subtree_control
ip link set lo up
hostname cnm-vm

for module in $(cat /vm/modules); do
	modprobe "$module" || echo "cnm-vm: modprobe $module failed"
done

# Kernel messages (an OOM kill, say) would land in the middle of the
# script's output on the same console; dmesg shows them after a failure.
dmesg -n 1
echo CNM-VM-BEGIN
sh /vm/test.sh </dev/null
status=$?
echo "CNM-VM-EXIT $status"
if [ "$status" != 0 ]; then
	echo '--- dmesg (last 60 lines) ---'
	dmesg | tail -n 60
fi
# poweroff -f does not wait for the console to drain.
sleep 0.3
poweroff -f
