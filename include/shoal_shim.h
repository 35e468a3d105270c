/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shoal_shim.h - the contract between shoald and shoal-shim.
 *
 * One shoal-shim per running container is the container's parent (like
 * containerd-shim / conmon). shoald never waits for a container itself:
 * it talks to the shim over a unix socket, so containers outlive shoald.
 *
 * Directories (shoald creates them before spawning the shim):
 *   bundle  = <exec-root>/containers/<id>/      runtime files (tmpfs)
 *   <bundle>/config.json   written by shoald, read by the shim (below)
 *   <bundle>/shim.pid      the shim's pid          (written by the shim)
 *   <bundle>/init.pid      container init's pid    (host pid namespace)
 *   <bundle>/shim.sock     control socket          (SOCK_STREAM, 0600)
 *   <bundle>/exit.json     written once init has exited and its output
 *                          is drained: {"exit_code":N,"signal":S,
 *                          "finished_at":"RFC3339Nano","oom_killed":false}
 *                          (exit_code = 128+S when killed by signal S)
 *
 * config.json:
 *   {"id": "<64 hex>",
 *    "rootfs": "/abs/merged/dir",          mounted by shoald (storage get)
 *    "args": ["/bin/sh","-c","..."],       entrypoint + cmd, non-empty
 *    "env": ["PATH=...","K=V"],
 *    "cwd": "/", "user": "" | "uid[:gid]" | "name[:group]",
 *    "hostname": "...", "tty": false, "open_stdin": false,
 *    "stdin_once": false,
 *    "netns": "/path" | "" ("" = a new empty net namespace with lo up;
 *                            "host" = stay in shim's net namespace),
 *    "mounts": [{"type":"bind"|"tmpfs","source":"...","destination":"/x",
 *                "options":["rbind","ro","nosuid",...]}],   in order
 *    "log_path": "/var/lib/shoal/containers/<id>/<id>-json.log",
 *    "cgroup": "/sys/fs/cgroup/shoal/<id>" | "",   on a cgroup2 mount (a
 *                          hybrid host's /sys/fs/cgroup/unified/shoal/<id>);
 *                          memory, cpu, cpuacct, pids that this cgroup2
 *                          lacks but a v1 hierarchy has (/proc/self/
 *                          mountinfo) get <v1 mount>/shoal/<id> too: the
 *                          processes join it, removed with the v2 one.
 *    optional [ext]:
 *    "readonly_rootfs": false,              Docker's --read-only
 *    "cap_add": ["NET_ADMIN"], "cap_drop": ["ALL"|"CHOWN"],
 *                          names with or without CAP_, any case; applied
 *                          to Docker's default set as Docker does (ALL in
 *                          cap_add: every capability minus the drops;
 *                          ALL in cap_drop: only the adds). An unknown
 *                          name: "error 125 unknown capability: \"X\"".
 *                          exec'd processes get the same set.
 *    "seccomp": true,      false = unconfined. The default filter is the
 *                          part of Docker's default profile capabilities
 *                          do not cover (keyrings, user and other new
 *                          namespaces via clone/unshare, userfaultfd,
 *                          io_uring, NUMA policy, perf, bpf, mount API,
 *                          modules, kexec, clocks...; allowed again with
 *                          the capability Docker ties each to), EPERM;
 *                          clone3 ENOSYS; i386/x32 syscalls refused.
 *    "resources": {"memory": B, "memory_swap": B|-1, "nano_cpus": N,
 *                  "cpu_shares": N, "pids_limit": N}
 *                          Docker's HostConfig names; written to
 *                          memory.max, memory.swap.max (default = memory,
 *                          as Docker), cpu.max, cpu.weight (runc's
 *                          conversion), pids.max before the container
 *                          runs; on v1: memory.limit_in_bytes,
 *                          memory.memsw.limit_in_bytes (memory + swap:
 *                          unset 2x memory, -1 unlimited; when swap
 *                          accounting is on), cpu.cfs_period_us 100000 +
 *                          cpu.cfs_quota_us, cpu.shares, pids.max. A value
 *                          the kernel refuses fails the start.
 *                          memory < 6 MB: "error 125 Minimum memory
 *                          limit allowed is 6MB". A controller neither in
 *                          cgroup2 nor on v1 (or no cgroup): shim.log warns,
 *                          limit discarded, container runs (Docker's
 *                          "Limitation discarded").
 *    "ulimits": [{"name":"nofile","soft":N,"hard":N}]   Docker's --ulimit
 *                          names; set for init and exec'd processes.
 *    "oom_score_adj": 0    Docker's --oom-score-adj (-1000..1000). The
 *                          shim itself asks for -998 (needs
 *                          CAP_SYS_RESOURCE; a warning in shim.log if not).
 *    "shm_size": B         /dev/shm size (Docker's --shm-size), 64 MiB.
 *    "log_max_size": B, "log_max_files": N   json-file max-size/max-file:
 *                          past B bytes the log becomes <log>.1 (older
 *                          ones shift up to <log>.(N-1), the oldest is
 *                          dropped); N = 1 (default): truncated instead.
 *    "hold": false         true: the container is created but its init
 *                          waits just before execve (namespaces, mounts,
 *                          user, caps, PATH lookup done: 126/127 from the
 *                          lookup still come on the ready line) until
 *                          {"op":"start"}, so clients can attach first
 *                          and miss no output (runc create/start).
 *    "privileged": false   Docker's --privileged: every capability the
 *                          shim has, no seccomp, no masked/ro paths,
 *                          /sys rw, copies of the host's device nodes.
 *   }
 *
 * Spawning: shoald runs `shoal-shim <bundle>` with stdin/stdout/stderr on
 * /dev/null and fd SHIM_READY_FD the write end of a pipe. The shim
 * detaches (forks so its parent is init, setsid), becomes a child
 * subreaper, starts the container and writes ONE line on the ready fd:
 *   "ok <init-pid>\n"
 *   "error <exit-code> <message>\n"   126 not executable, 127 not found,
 *                                     125 anything else (message names it)
 * then closes it. On "error" nothing is left running and no shim.sock.
 *
 * Control socket: each connection sends one JSON request line; the shim
 * answers one JSON line ({"ok":true,...} or {"ok":false,"message":...}),
 * then the op-specific exchange:
 *   {"op":"wait"}        the reply line is sent when init has exited:
 *                        {"ok":true,"exit_code":N,"finished_at":"..."}.
 *                        (Immediately if it already has.)
 *   {"op":"kill","signal":N,"all":false}   signal init (all: every
 *                        process in the container's pid namespace).
 *   {"op":"attach","stdin":B,"stdout":B,"stderr":B}
 *                        then frames shim->client (below) for output
 *                        produced from now on; client->shim raw stdin
 *                        bytes; shutdown(SHUT_WR) by the client = EOF on
 *                        the container's stdin when stdin_once.
 *   {"op":"exec","args":[...],"env":[...],"cwd":"","user":"",
 *    "tty":B,"stdin":B}  run a process in the container's namespaces
 *                        and root. Reply {"ok":true,"pid":N} or
 *                        {"ok":false,"exit_code":126|127|125,"message":..}
 *                        then frames; the last frame is SHIM_FRAME_EXIT.
 *   {"op":"resize","pid":0|exec-pid,"height":H,"width":W}   tty size.
 *   [ext] {"op":"start"}  a "hold" container's init execs now. Reply
 *                        {"ok":true,"pid":N}, or {"ok":false,"exit_code":
 *                        126|125,"message":..} when execve failed (init
 *                        then exits with that code: exit.json, waiters),
 *                        or "container already started".
 *   [ext] {"op":"pause"} / {"op":"resume"}   freeze / thaw the container:
 *                        cgroup.freeze with a cgroup v2, else SIGSTOP /
 *                        SIGCONT to every process of its pid namespace.
 *                        Reply {"ok":true,"paused":B}; errors "container
 *                        is already paused" / "container is not paused".
 *
 * Frames (shim -> client, always, tty or not): Docker's multiplexed
 * stream header {type, 0, 0, 0, uint32 big-endian payload length}
 * followed by the payload. type 1 stdout, 2 stderr (a tty's output is
 * type 1), SHIM_FRAME_EXIT: payload = 4-byte big-endian exit code, last.
 *
 * Log: json-file lines exactly like Docker's,
 *   {"log":"text\n","stream":"stdout","time":"2026-11-28T01:02:03.123456789Z"}
 * one line per output line (a partial line is flushed when 16 KiB
 * accumulate or the stream ends).
 *
 * Details of the implementation (user/shim, user/runtime) the daemon
 * may rely on; compatible extensions are marked [ext]:
 * - Times (log "time", finished_at) always have nine fraction digits.
 * - "hostname": "" = the first 12 characters of "id" as in Docker
 *   (netns "host": the host's name).
 * - The log file's directory is created (0700) if missing.
 * - wait reply [ext]: also "signal" (0 or S) and "oom_killed" (memory
 *   controller's oom_kill count: memory.events, on v1 memory.oom_control,
 *   else memory.failcnt). A container that has
 *   finished has no shim.sock any more: read exit.json instead. A
 *   connection racing the shim's exit may be reset (EPIPE/ECONNRESET:
 *   clients send with MSG_NOSIGNAL) and then exit.json is there.
 * - kill: "signal" defaults to 9. After init exited:
 *   {"ok":false,"message":"container is not running"}. pid 1 ignores
 *   signals it has no handler for (SIGTERM to `sleep`), as in Docker.
 * - attach: only output frames (no SHIM_FRAME_EXIT); the connection is
 *   closed once init's output is drained. "stdin" is ignored unless the
 *   config has open_stdin. A client that falls 8 MiB behind is dropped.
 *   With a tty, stdin EOF (stdin_once) is sent as ^D.
 * - exec: "env" is used as given (the daemon merges the container's env
 *   into it); PATH and HOME are added when missing, as runc does. "cwd"
 *   / "user" "" mean the container's. On {"ok":false,...} no frames
 *   follow and the connection is closed. Output after the process has
 *   exited is read for 200 ms at most (background children may hold
 *   the pipe). The reply comes once the process has exec'd (or failed);
 *   meanwhile the shim serves other clients. Setup beyond 60 s:
 *   {"ok":false,"exit_code":125,"message":"exec setup timed out"}.
 * - Mount order: /proc, /sys (ro), /dev (tmpfs + null zero full random
 *   urandom tty, pts, shm, mqueue, fd/stdin/stdout/stderr/ptmx/core links)
 *   first, then "mounts" in order (so /etc/hosts or /dev/shm binds
 *   override), then pivot_root and Docker's masked / read-only /proc and
 *   /sys paths. Mount options: ro rw nosuid suid nodev dev noexec exec
 *   bind rbind noatime relatime strictatime and the propagation names;
 *   anything else is filesystem data (tmpfs "size=64m", "mode=1777").
 *   "rbind"+"ro" makes submounts read-only too (mount_setattr).
 *   Destinations resolve symlinks inside the rootfs only.
 * - With a cgroup: the container gets its own cgroup namespace rooted
 *   there and cgroup2 read-only on /sys/fs/cgroup (Docker on v2); exec'd
 *   processes join the cgroup and the namespace.
 * - tty: init's pty slave is also bound on /dev/console (as runc).
 * - A container whose setup does not finish in 60 s is killed and
 *   reported as "error 125 container setup timed out".
 * - Files the shim leaves: shim.log (its own messages), exit.json,
 *   shim.pid, init.pid. On "error" shim.pid/init.pid are removed.
 */
#ifndef SHOAL_SHIM_H
#define SHOAL_SHIM_H

#define SHIM_READY_FD 3
#define SHIM_FRAME_STDOUT 1
#define SHIM_FRAME_STDERR 2
#define SHIM_FRAME_EXIT 0xfe
#define SHIM_FRAME_HDR 8

#endif
