// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp.c - the part of Docker's default seccomp profile that the
 * capability set does not already enforce, as a deny list: keyrings
 * (not namespaced), user namespaces and other namespace creation,
 * userfaultfd, io_uring, NUMA policy, perf, bpf, modules, kexec, mounts,
 * clocks, ... each allowed again when the container has the capability
 * Docker ties it to (moby profiles/seccomp/default.json "includes.caps").
 * Denied calls fail with EPERM; clone3 with ENOSYS so libc falls back to
 * clone, whose flags can be checked (Docker does the same).
 *
 * Other ABIs (i386, x32) are refused entirely: a deny list keyed on
 * x86_64 numbers must not be bypassed through them.
 */
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "../common/util.h"
#include "internal.h"

#if defined(__x86_64__)
#define RT_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define RT_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define X32_BIT 0x40000000

/* Syscalls denied unless the container has cap (-1: always denied). */
struct deny {
	int nr;
	int cap;
};

#define D(name, cap) { SYS_##name, cap }

static const struct deny deny_list[] = {
	D(add_key, -1), D(keyctl, -1), D(request_key, -1),
	D(userfaultfd, -1),
#ifdef SYS_io_uring_setup
	D(io_uring_setup, -1), D(io_uring_enter, -1), D(io_uring_register, -1),
#endif
	D(uselib, -1), D(ustat, -1), D(sysfs, -1), D(_sysctl, -1),
	D(nfsservctl, -1), D(get_kernel_syms, -1), D(query_module, -1),
	D(create_module, -1),
	D(acct, CAP_SYS_PACCT),
	D(bpf, CAP_SYS_ADMIN),
	D(clock_adjtime, CAP_SYS_TIME), D(clock_settime, CAP_SYS_TIME),
	D(settimeofday, CAP_SYS_TIME),
	D(delete_module, CAP_SYS_MODULE), D(finit_module, CAP_SYS_MODULE),
	D(init_module, CAP_SYS_MODULE),
	D(iopl, CAP_SYS_RAWIO), D(ioperm, CAP_SYS_RAWIO),
	D(kexec_file_load, CAP_SYS_BOOT), D(kexec_load, CAP_SYS_BOOT),
	D(reboot, CAP_SYS_BOOT),
	D(get_mempolicy, CAP_SYS_NICE), D(set_mempolicy, CAP_SYS_NICE),
	D(mbind, CAP_SYS_NICE), D(move_pages, CAP_SYS_NICE),
	D(kcmp, CAP_SYS_PTRACE), D(process_vm_readv, CAP_SYS_PTRACE),
	D(process_vm_writev, CAP_SYS_PTRACE),
	D(lookup_dcookie, CAP_SYS_ADMIN), D(name_to_handle_at, CAP_SYS_ADMIN),
	D(open_by_handle_at, CAP_DAC_READ_SEARCH),
	D(perf_event_open, CAP_SYS_ADMIN),
	D(mount, CAP_SYS_ADMIN), D(umount2, CAP_SYS_ADMIN), D(pivot_root, CAP_SYS_ADMIN),
#ifdef SYS_fsopen
	D(fsopen, CAP_SYS_ADMIN), D(fsconfig, CAP_SYS_ADMIN), D(fsmount, CAP_SYS_ADMIN),
	D(fspick, CAP_SYS_ADMIN), D(open_tree, CAP_SYS_ADMIN), D(move_mount, CAP_SYS_ADMIN),
#endif
#ifdef SYS_mount_setattr
	D(mount_setattr, CAP_SYS_ADMIN),
#endif
	D(quotactl, CAP_SYS_ADMIN), D(setns, CAP_SYS_ADMIN), D(unshare, CAP_SYS_ADMIN),
	D(swapon, CAP_SYS_ADMIN), D(swapoff, CAP_SYS_ADMIN),
	D(fanotify_init, CAP_SYS_ADMIN),
	D(syslog, CAP_SYSLOG),
	D(vhangup, CAP_SYS_TTY_CONFIG),
};

#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
		  CLONE_NEWNET | CLONE_NEWCGROUP)

static bool has_cap(uint64_t caps, int cap)
{
	return cap >= 0 && cap < 64 && (caps & (1ULL << cap));
}

int rt_seccomp_install(uint64_t caps, struct shoal_err *err)
{
	struct sock_filter f[2 * ARRAY_SIZE(deny_list) + 16];
	struct sock_fprog prog = { .filter = f };
	unsigned short n = 0;

#ifndef RT_AUDIT_ARCH
	(void)caps;
	return 0;       /* no profile for this architecture */
#else
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RT_AUDIT_ARCH, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	for (size_t i = 0; i < ARRAY_SIZE(deny_list); i++) {
		if (has_cap(caps, deny_list[i].cap))
			continue;
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (unsigned int)deny_list[i].nr, 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	}
#ifdef SYS_clone3
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
#endif
	if (!has_cap(caps, CAP_SYS_ADMIN)) {
		/* clone(flags, ...): no new namespaces (arg 0, low word). */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						      offsetof(struct seccomp_data, args[0]));
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	}
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = n;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return err_set(err, errno, "seccomp: %s", strerror(errno));
	return 0;
#endif
}
