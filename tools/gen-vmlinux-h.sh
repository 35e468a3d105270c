#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerate vmlinux/<arch>/vmlinux.h from the running kernel's BTF.
set -eu
arch=${1:-x86}
mkdir -p "vmlinux/$arch"
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "vmlinux/$arch/vmlinux.h"
