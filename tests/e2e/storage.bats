#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# Storage drivers end to end: what `shoal info` says about the driver, the
# choice by flag or daemon.json, each driver's images invisible to the
# others (as in Docker), btrfs on a loop-mounted btrfs image, and clear
# start failures for drivers this machine cannot have.

load helpers
load image_helpers

setup() {
	e2e_setup
	IMG=$W/img.tar
	ID=$(mkimage "$IMG")
}

teardown() {
	[ -n "${W:-}" ] || return 0
	stop_shoald 9 || true
	if [ -f "$W/loop" ]; then
		umount "$W/data" 2>/dev/null || umount -l "$W/data" 2>/dev/null || true
		losetup -d "$(cat "$W/loop")" 2>/dev/null || true
	fi
	e2e_teardown
}

# start_fails ARGS...: shoald must exit during start; its log is in $log.
start_fails() {
	run start_shoald "$@"
	[ "$status" -ne 0 ]
	! kill -0 "$(cat "$W/shoald.pid")" 2>/dev/null || false
	log=$(cat "$W/shoald.log")
	stop_shoald
	: > "$W/shoald.log"
}

@test "info shows the driver as docker info does (overlay2 by default)" {
	start_shoald
	run shoal info
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n Storage Driver: overlay2\n'* ]]
	[[ "$output" =~ $'\n'"  Backing Filesystem: "[a-z0-9]+$'\n' ]]
	[[ "$output" == *$'\n  Supports d_type: true\n'* ]]
	[[ "$output" =~ $'\n'"  Native Overlay Diff: "(true|false)$'\n' ]]
	[ "$(shoal info --format '{{.Driver}}')" = overlay2 ]
	[ -d "$W/data/overlay2/l" ]
	shoal load -i "$IMG" >/dev/null
	[ "$(layer_dirs overlay2)" -eq 2 ]
	[ "$(shoal info --format '{{.Images}}')" -eq 1 ]
	# the l/ short links point at the layers' diff dirs
	for l in "$W"/data/overlay2/l/*; do
		[ -L "$l" ]
		[ -d "$l" ]
	done
}

@test "another driver does not see the images of the first; switching back does" {
	start_shoald
	shoal load -i "$IMG" >/dev/null
	[ "$(shoal images -q)" = "${ID:7:12}" ]
	stop_shoald

	start_shoald --storage-driver vfs
	run shoal info
	[[ "$output" == *$'\n Storage Driver: vfs\n'* ]]
	run shoal images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run shoal image inspect shoal/busybox
	[ "$status" -eq 1 ]
	# the same archive loads under vfs: full copies, whiteouts applied
	shoal load -i "$IMG" >/dev/null
	[ "$(layer_dirs vfs)" -eq 2 ]
	[ "$(img_field shoal/busybox '{{.GraphDriver.Name}}')" = vfs ]
	top=
	for d in "$W"/data/vfs/dir/*; do
		if [ -e "$d/data/c" ]; then top=$d; fi
	done
	[ -f "$top/bin/busybox" ]
	[ -f "$top/data/a" ]
	[ -f "$top/data/c" ]
	[ -f "$top/data/old/new" ]
	[ ! -e "$top/data/b" ]
	[ ! -e "$top/data/old/x" ]
	[ ! -e "$top/data/.wh.b" ]
	shoal rmi shoal/busybox >/dev/null
	[ "$(layer_dirs vfs)" -eq 0 ]
	stop_shoald

	start_shoald # default again: overlay2, its image still there
	[ "$(shoal info --format '{{.Driver}}')" = overlay2 ]
	[ "$(shoal images -q)" = "${ID:7:12}" ]
	[ "$(layer_dirs overlay2)" -eq 2 ]
	stop_shoald

	echo '{"storage-driver": "vfs"}' > "$W/daemon.json"
	start_shoald
	[ "$(shoal info --format '{{.Driver}}')" = vfs ]
	run shoal images -q
	[ -z "$output" ]
}

@test "btrfs on a loop-mounted btrfs image" {
	grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null ||
		skip "this kernel has no btrfs"
	command -v mkfs.btrfs >/dev/null || skip "mkfs.btrfs not installed (make deps: btrfs-progs)"
	truncate -s 256M "$W/btrfs.img"
	mkfs.btrfs -q "$W/btrfs.img"
	losetup -f --show "$W/btrfs.img" > "$W/loop"
	mkdir -p "$W/data"
	mount "$(cat "$W/loop")" "$W/data"
	start_shoald --storage-driver btrfs
	run shoal info
	[[ "$output" == *$'\n Storage Driver: btrfs\n'* ]]
	run shoal load -i "$IMG"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: shoal/busybox:latest" ]
	[ "$(img_field shoal/busybox '{{.Id}}')" = "$ID" ]
	[ "$(img_field shoal/busybox '{{.GraphDriver.Name}}')" = btrfs ]
	[ "$(layer_dirs btrfs)" -eq 2 ]
	# each layer is a subvolume (the top a snapshot of the base)
	[ "$(btrfs subvolume list "$W/data" | grep -c 'btrfs/subvolumes/')" -eq 2 ]
	run shoal rmi shoal/busybox
	[ "$status" -eq 0 ]
	[ "$(layer_dirs btrfs)" -eq 0 ]
	[ "$(btrfs subvolume list "$W/data" | grep -c 'btrfs/subvolumes/' || true)" -eq 0 ]
	stop_shoald
}

@test "btrfs on a data-root that is not btrfs: start fails and says why" {
	[ "$(stat -f -c %T "$(dirname "$W")")" != btrfs ] || skip "/tmp is btrfs here"
	start_fails --storage-driver btrfs
	[[ "$log" == *btrfs* ]]
	# it says where and what it found instead
	[[ "$log" == *"$W/data"* ]]
	[[ "${log,,}" == *filesystem* ]]
}

@test "devicemapper and zfs: start fails naming what the kernel lacks" {
	if [ -e /dev/mapper/control ] && grep -qw zfs /proc/filesystems; then
		skip "this kernel has both device-mapper and zfs"
	fi
	if [ ! -e /dev/mapper/control ]; then
		start_fails --storage-driver devicemapper
		[[ "$log" == *devicemapper* ]]
		[[ "${log,,}" == *"device-mapper"* || "${log,,}" == *"dm_mod"* || "${log,,}" == *"/dev/mapper"* || "${log,,}" == *"dm-"* ]]
	fi
	if ! grep -qw zfs /proc/filesystems; then
		start_fails --storage-driver zfs
		[[ "$log" == *zfs* ]]
		[[ "${log,,}" == *kernel* || "${log,,}" == *"/dev/zfs"* || "${log,,}" == *module* || "${log,,}" == *"/proc/filesystems"* ]]
	fi
}

@test "an unknown driver: start fails listing the known ones" {
	start_fails --storage-driver nosuchfs
	[[ "$log" == *nosuchfs* ]]
	[[ "$log" == *overlay2* ]]
	[[ "$log" == *vfs* ]]
	[[ "$log" == *btrfs* ]]
	# the same from daemon.json
	echo '{"storage-driver": "nosuchfs"}' > "$W/daemon.json"
	start_fails
	[[ "$log" == *nosuchfs* ]]
	[[ "$log" == *overlay2* ]]
}
