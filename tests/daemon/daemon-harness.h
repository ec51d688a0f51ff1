/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A private liveupdated for a test: started on a socket in its own mkdtemp
 * directory, waited for through --ready-fd (no sleeps), stopped with
 * SIGTERM and reaped.  The binary is $LIVEUPDATED (set by meson); the
 * wait for readiness is bounded by $LUO_TEST_TIMEOUT seconds (default 60;
 * raise it under valgrind).
 */
#ifndef DAEMON_HARNESS_H
#define DAEMON_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

/* Exit codes of the test protocol (meson: 77 is a skip). */
#define DH_PASS	0
#define DH_SKIP	77
#define DH_FAIL	1

/**
 * struct dh_daemon - one daemon under test
 * @pid:    its pid, 0 when not running
 * @status: its wait status once reaped (see dh_exit_code())
 * @dir:    the private directory ("" if the socket was given)
 * @socket: the socket path, to give to luo_open_at()
 * @no_vault: started with --no-vault: @pid is the daemon itself, else it
 *          is the vault and the engine its child (dh_engine_pid())
 */
struct dh_daemon {
	pid_t pid;
	bool no_vault;
	int status;
	char dir[PATH_MAX];
	char socket[PATH_MAX];
};

const char *dh_binary(void);
int dh_start(struct dh_daemon *d, const char *const *args);
int dh_start_at(struct dh_daemon *d, const char *socket,
		const char *const *args);
int dh_stop(struct dh_daemon *d);
int dh_wait(struct dh_daemon *d);
int dh_exit_code(int status);
void dh_cleanup(struct dh_daemon *d);
int dh_count_fds(pid_t pid);
pid_t dh_child_of(pid_t pid);
void dh_records_read(pid_t engine, void *buf, size_t len);
pid_t dh_engine_pid(const struct dh_daemon *d);
pid_t dh_status_pid(const char *socket);
void dh_wait_gone(pid_t pid, int timeout_ms);
pid_t dh_kill_engine(const char *socket);
pid_t dh_start_killpoint(struct dh_daemon *d, const char *step, char *flag,
			 size_t len);
void dh_killpoint_arm(const char *flag);
pid_t dh_killpoint_fired(struct dh_daemon *d, pid_t engine, const char *flag);
void dh_killpoint_stop(struct dh_daemon *d, const char *flag);
void dh_set_nofile(rlim_t soft, rlim_t hard);
bool dh_under_valgrind(void);
int dh_run_output(const char *bin, const char *const *args, int fd3, int fd4,
		  char *out, size_t len);
void dh_expect_output(const char *out, const char *what);

/* Test helpers: report and exit. */
#define dh_check(cond) do {						\
	if (!(cond))							\
		dh_fail(__FILE__, __LINE__, #cond);			\
} while (0)
#define dh_check_eq(a, b) do {						\
	long long __a = (long long)(a), __b = (long long)(b);		\
	if (__a != __b)							\
		dh_fail_eq(__FILE__, __LINE__, #a, #b, __a, __b);	\
} while (0)

void dh_fail(const char *file, int line, const char *what)
	__attribute__((noreturn));
void dh_fail_eq(const char *file, int line, const char *a, const char *b,
		long long va, long long vb) __attribute__((noreturn));
void dh_skip(const char *why) __attribute__((noreturn));

#endif /* DAEMON_HARNESS_H */
