// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Command-line parsing, and the command line of the next image at a
 * reboot: the same one, less the one-shot options, plus --handover-fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"

enum {
	OPT_SOCKET = 0x100,
	OPT_MAX_SESSIONS,
	OPT_MAX_FILES,
	OPT_READY_FD,
	OPT_LOG_LEVEL,
	OPT_HANDOVER_FD,
	OPT_FAULT_INJECTION,
	OPT_HANDLERS,
	OPT_CONNS_PER_USER,
	OPT_VAULT,
	OPT_NO_VAULT,
	OPT_VAULT_FD,
	OPT_RECORDS_FD,
	OPT_RECOVER,
	OPT_VAULT_ADOPT,
	OPT_POOL,
	OPT_POOL_FORMAT,
	OPT_POOL_PER_USER,
	OPT_KEXEC_SIMULATE,
	OPT_FDSTORE_TIMEOUT,
	OPT_RB_FIRST,
	OPT_TAKEOVER_TIMEOUT = OPT_RB_FIRST,
	OPT_ROLLBACK_FD,
	OPT_KEEPER_FD,
	OPT_KEEPER_PID,
	OPT_ROLLED_BACK,
	OPT_FAILED_REBOOTS,
	OPT_REFUSE_HANDOVER,
	OPT_EXEC_FD,
	OPT_RB_LAST = OPT_EXEC_FD,
	OPT_ACC_FIRST,
	OPT_GROUP = OPT_ACC_FIRST,
	OPT_SESSIONS_PER_USER,
	OPT_FILES_PER_USER,
	OPT_SESSIONS_PER_CONN,
	OPT_MAX_PENDING,
	OPT_ACC_LAST = OPT_MAX_PENDING,
};

#define DEFAULT_TAKEOVER_MS	30000
#define DEFAULT_FDSTORE_MS	10000
#define DEFAULT_MAX_PENDING	1024
#define DEFAULT_CONNS_PER_USER	4096

static const struct option options[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
	{ "max-files", required_argument, NULL, OPT_MAX_FILES },
	{ "ready-fd", required_argument, NULL, OPT_READY_FD },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "handover-fd", required_argument, NULL, OPT_HANDOVER_FD },
	{ "fault-injection", no_argument, NULL, OPT_FAULT_INJECTION },
	{ "handlers", required_argument, NULL, OPT_HANDLERS },
	{ "takeover-timeout", required_argument, NULL, OPT_TAKEOVER_TIMEOUT },
	{ "rollback-fd", required_argument, NULL, OPT_ROLLBACK_FD },
	{ "keeper-fd", required_argument, NULL, OPT_KEEPER_FD },
	{ "keeper-pid", required_argument, NULL, OPT_KEEPER_PID },
	{ "rolled-back", required_argument, NULL, OPT_ROLLED_BACK },
	{ "failed-reboots", required_argument, NULL, OPT_FAILED_REBOOTS },
	{ "refuse-handover", no_argument, NULL, OPT_REFUSE_HANDOVER },
	{ "exec-fd", required_argument, NULL, OPT_EXEC_FD },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "max-sessions-per-user", required_argument, NULL,
	  OPT_SESSIONS_PER_USER },
	{ "max-files-per-user", required_argument, NULL, OPT_FILES_PER_USER },
	{ "max-sessions-per-connection", required_argument, NULL,
	  OPT_SESSIONS_PER_CONN },
	{ "max-pending", required_argument, NULL, OPT_MAX_PENDING },
	{ "max-connections-per-user", required_argument, NULL,
	  OPT_CONNS_PER_USER },
	{ "vault", no_argument, NULL, OPT_VAULT },
	{ "no-vault", no_argument, NULL, OPT_NO_VAULT },
	{ "vault-fd", required_argument, NULL, OPT_VAULT_FD },
	{ "records-fd", required_argument, NULL, OPT_RECORDS_FD },
	{ "recover", no_argument, NULL, OPT_RECOVER },
	{ "vault-adopt", required_argument, NULL, OPT_VAULT_ADOPT },
	{ "pool", required_argument, NULL, OPT_POOL },
	{ "pool-format", no_argument, NULL, OPT_POOL_FORMAT },
	{ "max-pool-per-user", required_argument, NULL, OPT_POOL_PER_USER },
	{ "kexec-simulate", no_argument, NULL, OPT_KEXEC_SIMULATE },
	{ "fdstore-timeout", required_argument, NULL, OPT_FDSTORE_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{}
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: liveupdated [OPTION]...\n"
		"The Live Update Orchestrator in user space.\n\n"
		"  --socket PATH       listen on PATH (default: $LUO_SOCKET,\n"
		"                      /run/liveupdate/liveupdate.sock for root,\n"
		"                      else $XDG_RUNTIME_DIR/liveupdate/liveupdate.sock)\n"
		"  --max-sessions N    outgoing sessions allowed\n"
		"  --max-files N       files allowed per session\n"
		"  --ready-fd N        write \"READY=1\\n\" to fd N once listening\n"
		"  --log-level LEVEL   err, warning, notice, info (default), debug\n"
		"  --handlers SET      file handlers: luo (default: memfd, socket,\n"
		"                      pipe, eventfd, file) or kernel (memfd only,\n"
		"                      refusing what the kernel's LUO refuses)\n"
		"  --fault-injection   testing aid: the fault-v1 handler\n"
		"  --takeover-timeout MS  a new image that has not taken over\n"
		"                      after MS ms is killed and rolled back (30000)\n"
		"  --group NAME        open the socket to group NAME (0660)\n"
		"  --max-sessions-per-user N  sessions one uid owns\n"
		"  --max-files-per-user N     files in one uid's sessions\n"
		"  --max-sessions-per-connection N  per device open\n"
		"  --max-pending N     connections before their handshake (1024)\n"
		"  --max-connections-per-user N  connections and sessions of\n"
		"                      one uid other than root's and ours (4096)\n"
		"  --no-vault          run as one process, without the vault: a crash\n"
		"                      of liveupdated then loses its state (by\n"
		"                      default a vault holds every fd and the\n"
		"                      records, and restarts the engine with\n"
		"                      everything after a crash)\n"
		"  --vault             the default; accepted for compatibility\n"
		"  --fdstore-timeout MS  under systemd's fd store, how long a\n"
		"                      request waits for systemd to take new fds\n"
		"                      before it goes on without (10000, at most\n"
		"                      20000)\n"
		"  --pool PATH         a pmem device (formatted if it holds no\n"
		"                      filesystem, mounted with DAX) or a directory:\n"
		"                      pool files and REBOOT --kexec's handover\n"
		"  --pool-format       format the --pool device even if it holds\n"
		"                      another filesystem\n"
		"  --max-pool-per-user BYTES  pool space one uid other than\n"
		"                      root may use (K, M, G, T: binary units),\n"
		"                      enforced by the pool's user quota\n"
		"  --kexec-simulate    testing aid: REBOOT --kexec exits where it\n"
		"                      would load the kernel\n"
		"  --help              show this help\n"
		"  --version           show the version\n");
}

/* A decimal number in [min, max]. */
static int parse_num(const char *name, const char *s, long min, long max,
		     long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "liveupdated: bad %s: %s\n", name, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/*
 * A size: a decimal number of bytes, or of KiB, MiB, GiB, TiB with the
 * suffix K, M, G, T; at most 2^63 - 1.
 */
static int parse_size(const char *name, const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end && !end[1] && (u = strchr(units, *end)) && *u) {
		shift = 10 * (int)(u - units + 1);
		end++;
	}
	if (errno || end == s || *end || *s == '-' ||
	    v > (unsigned long long)INT64_MAX >> shift) {
		fprintf(stderr, "liveupdated: bad %s: %s\n", name, s);
		return -EINVAL;
	}
	*out = (uint64_t)v << shift;
	return 0;
}

/* A --*-fd argument: a number naming an open fd. */
static int parse_fd(const char *name, const char *s, int *fd)
{
	long v;

	if (parse_num(name, s, 0, INT_MAX, &v))
		return -EINVAL;
	if (fcntl((int)v, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "liveupdated: %s %ld: %m\n", name, v);
		return -EBADF;
	}
	*fd = (int)v;
	return 0;
}

/*
 * --exec-fd=FD:TYPE:DEV:INO: the executable a REBOOT ran us from, kept
 * open for an interpreter (a #! script) and closed once we run, if it is
 * still that file.  Made close-on-exec at once.
 */
static int parse_exec_fd(struct luo_fd_id *id, const char *s)
{
	unsigned long long dev, ino;
	unsigned int type;
	int fd, n = 0;

	if (sscanf(s, "%d:%u:%llu:%llu%n", &fd, &type, &dev, &ino, &n) != 4 ||
	    s[n] || fd < 0) {
		fprintf(stderr, "liveupdated: bad --exec-fd: %s\n", s);
		return -EINVAL;
	}
	*id = (struct luo_fd_id){
		.fd = fd, .type = type, .dev = dev, .ino = ino,
	};
	if (luo_fd_id_check(id))
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	else
		id->fd = -1;	/* not ours: never touched */
	return 0;
}

/* The self-upgrade's options; the internal ones are one-shot. */
static int parse_rb(struct luod_rb_options *o, int c, const char *arg)
{
	long v = 0;
	int r = 0;

	switch (c) {
	case OPT_TAKEOVER_TIMEOUT:
		r = parse_num("--takeover-timeout", arg, 1, INT32_MAX, &v);
		o->takeover_ms = (uint32_t)v;
		break;
	case OPT_ROLLBACK_FD:
		r = parse_fd("--rollback-fd", arg, &o->rollback_fd);
		break;
	case OPT_KEEPER_FD:
		r = parse_fd("--keeper-fd", arg, &o->keeper_fd);
		break;
	case OPT_KEEPER_PID:
		r = parse_num("--keeper-pid", arg, 1, INT32_MAX, &v);
		o->keeper_pid = (pid_t)v;
		break;
	case OPT_ROLLED_BACK:
		o->rolled_back = arg;
		break;
	case OPT_FAILED_REBOOTS:
		r = parse_num("--failed-reboots", arg, 0, UINT32_MAX, &v);
		o->failed_reboots = (uint32_t)v;
		break;
	case OPT_EXEC_FD:
		r = parse_exec_fd(&o->exec, arg);
		break;
	default:
		o->refuse_handover = true;
	}
	return r;
}

/* Access control (access.c); a number of 0 means no limit. */
static int parse_access(struct luod_acc_options *o, int c, const char *arg)
{
	static const char *const names[] = {
		"--max-sessions-per-user", "--max-files-per-user",
		"--max-sessions-per-connection", "--max-pending",
	};
	uint32_t *nums[] = {
		&o->lim.sessions_per_user, &o->lim.files_per_user,
		&o->lim.sessions_per_conn, &o->max_pending,
	};
	struct group *g;
	long v;

	if (c != OPT_GROUP) {
		if (parse_num(names[c - OPT_SESSIONS_PER_USER], arg, 0,
			      UINT32_MAX, &v))
			return -EINVAL;
		*nums[c - OPT_SESSIONS_PER_USER] = (uint32_t)v;
		return 0;
	}
	g = getgrnam(arg);
	if (!g) {
		fprintf(stderr, "liveupdated: --group: no group %s\n", arg);
		return -EINVAL;
	}
	o->lim.group = g->gr_gid;
	return 0;
}

static int parse_one(struct luod_options *o, int c, const char *arg)
{
	long v;
	int r = 0;

	if (c >= OPT_RB_FIRST && c <= OPT_RB_LAST)
		return parse_rb(&o->rb, c, arg);
	if (c >= OPT_ACC_FIRST && c <= OPT_ACC_LAST)
		return parse_access(&o->acc, c, arg);
	switch (c) {
	case OPT_SOCKET:
		o->socket = arg;
		break;
	case OPT_MAX_SESSIONS:
	case OPT_MAX_FILES:
		r = parse_num(c == OPT_MAX_FILES ? "--max-files" :
			      "--max-sessions", arg, 1, UINT32_MAX, &v);
		if (!r && c == OPT_MAX_FILES)
			o->max_files = (uint32_t)v;
		else if (!r)
			o->max_sessions = (uint32_t)v;
		break;
	case OPT_READY_FD:
		r = parse_fd("--ready-fd", arg, &o->ready_fd);
		break;
	case OPT_HANDOVER_FD:
		r = parse_fd("--handover-fd", arg, &o->handover_fd);
		break;
	case OPT_FAULT_INJECTION:
		o->fault_injection = true;
		break;
	case OPT_HANDLERS:
		r = luo_handler_set_parse(arg, &o->handlers);
		if (r)
			fprintf(stderr,
				"liveupdated: bad --handlers: %s (luo or kernel)\n",
				arg);
		break;
	case OPT_CONNS_PER_USER:
		r = parse_num("--max-connections-per-user", arg, 0, UINT32_MAX,
			      &v);
		if (!r)
			o->conns_per_user = (uint32_t)v;
		break;
	case OPT_VAULT:
		break;	/* the default */
	case OPT_NO_VAULT:
		o->vault = false;
		break;
	case OPT_VAULT_FD:
		r = parse_fd("--vault-fd", arg, &o->vault_fd);
		break;
	case OPT_RECORDS_FD:
		r = parse_fd("--records-fd", arg, &o->records_fd);
		break;
	case OPT_RECOVER:
		o->recover = true;
		break;
	case OPT_VAULT_ADOPT:
		r = parse_num("--vault-adopt", arg, 1, INT32_MAX, &v);
		if (!r) {
			o->vault_adopt = (pid_t)v;
			o->vault = true;
		}
		break;
	case OPT_POOL:
		o->pool = arg;
		break;
	case OPT_POOL_FORMAT:
		o->pool_format = true;
		break;
	case OPT_POOL_PER_USER:
		r = parse_size("--max-pool-per-user", arg,
			       &o->max_pool_per_user);
		break;
	case OPT_KEXEC_SIMULATE:
		o->kexec_simulate = true;
		break;
	case OPT_FDSTORE_TIMEOUT:
		r = parse_num("--fdstore-timeout", arg, 1, 20000, &v);
		if (!r)
			o->fdstore_ms = (uint32_t)v;
		break;
	case OPT_LOG_LEVEL:
		o->log_level = log_parse_level(arg);
		if (o->log_level < 0)
			fprintf(stderr, "liveupdated: bad --log-level: %s\n", arg);
		r = o->log_level < 0 ? -EINVAL : 0;
		break;
	default:
		r = -EINVAL;
	}
	return r;
}

/**
 * options_parse() - read the command line
 * @o:    out: the options
 * @argc: as given to main()
 * @argv: as given to main(); reordered by getopt
 *
 * --ready-fd and --handover-fd are made close-on-exec at once.
 *
 * Return: 0 to run, 1 to exit with success (--help, --version), -errno to
 * exit with failure (a message was printed).
 */
int options_parse(struct luod_options *o, int argc, char **argv)
{
	int c;

	*o = (struct luod_options){
		.ready_fd = -1, .handover_fd = -1, .log_level = LUO_LOG_INFO,
		.vault = true, .vault_fd = -1, .records_fd = -1,
		.handlers = LUO_HANDLERS_LUO,
		.conns_per_user = DEFAULT_CONNS_PER_USER,
		.fdstore_ms = DEFAULT_FDSTORE_MS,
		.rb = {
			.takeover_ms = DEFAULT_TAKEOVER_MS, .rollback_fd = -1,
			.keeper_fd = -1, .exec.fd = -1,
		},
		.acc = {
			.lim.group = (gid_t)-1,
			.max_pending = DEFAULT_MAX_PENDING,
		},
	};
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'h' || c == 'V') {
			if (c == 'h')
				usage(stdout);
			else
				printf("liveupdated %s\n", LUO_VERSION);
			return 1;
		}
		if (c == '?' || parse_one(o, c, optarg)) {
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "liveupdated: unexpected argument: %s\n",
			argv[optind]);
		return -EINVAL;
	}
	if (o->max_pool_per_user && !o->pool) {
		fprintf(stderr, "liveupdated: --max-pool-per-user needs --pool\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * Is @arg a one-shot option (getopt_long takes unambiguous prefixes too);
 * *@skip: does it take the next word as well.
 */
static bool options_one_shot(const char *arg, bool *skip)
{
	static const struct { const char *name; bool arg; } names[] = {
		{ "--handover-fd", true }, { "--ready-fd", true },
		{ "--rollback-fd", true }, { "--keeper-fd", true },
		{ "--keeper-pid", true }, { "--rolled-back", true },
		{ "--failed-reboots", true }, { "--refuse-handover", false },
		{ "--exec-fd", true }, { "--recover", false },
	};
	size_t i, n = strcspn(arg, "=");

	if (n < 3 || strncmp(arg, "--", 2))
		return false;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (n <= strlen(names[i].name) &&
		    !strncmp(arg, names[i].name, n)) {
			*skip = names[i].arg && arg[n] == '\0';
			return true;
		}
	}
	return false;
}

/* Appends "--@name=@val" if @on; false if out of memory. */
static bool add_word(char **out, size_t *j, bool on, const char *name,
		     long long val, const char *str)
{
	int n;

	if (!on)
		return true;
	if (str)
		n = asprintf(&out[*j], "--%s=%s", name, str);
	else
		n = asprintf(&out[*j], "--%s=%lld", name, val);
	if (n < 0) {
		out[*j] = NULL;
		return false;
	}
	(*j)++;
	return true;
}

/* "--exec-fd=FD:TYPE:DEV:INO" if @id; false if out of memory. */
static bool add_exec_fd(char **out, size_t *j, const struct luo_fd_id *id)
{
	if (!id || id->fd < 0)
		return true;
	if (asprintf(&out[*j], "--exec-fd=%d:%u:%llu:%llu", id->fd, id->type,
		     (unsigned long long)id->dev,
		     (unsigned long long)id->ino) < 0) {
		out[*j] = NULL;
		return false;
	}
	(*j)++;
	return true;
}

static bool add_exec_args(char **out, size_t j, const struct luod_exec_args *a)
{
	return add_word(out, &j, true, "handover-fd", a->handover_fd, NULL) &&
	       add_word(out, &j, a->rollback_fd >= 0, "rollback-fd",
			a->rollback_fd, NULL) &&
	       add_word(out, &j, a->keeper_fd >= 0, "keeper-fd", a->keeper_fd,
			NULL) &&
	       add_word(out, &j, a->keeper_pid > 0, "keeper-pid",
			a->keeper_pid, NULL) &&
	       add_word(out, &j, a->failed_reboots, "failed-reboots",
			a->failed_reboots, NULL) &&
	       add_word(out, &j, a->rolled_back, "rolled-back", 0,
			a->rolled_back) &&
	       add_exec_fd(out, &j, a->exec);
}

/**
 * options_exec_argv() - the command line of the next image
 * @argv: the original command line (before getopt reordered it)
 * @a:    what to add after it, one-shot options having been dropped
 *
 * Used for the new image at a REBOOT, and for the previous image when the
 * new one rolls back.
 *
 * Return: a new NULL-terminated vector (options_free_argv()), or NULL.
 */
char **options_exec_argv(char *const *argv, const struct luod_exec_args *a)
{
	size_t n = 0, i, j = 0;
	bool skip = false;
	char **out;

	while (argv[n])
		n++;
	out = calloc(n + 8, sizeof(*out));
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (i > 0 && options_one_shot(argv[i], &skip)) {
			i += skip;
			continue;
		}
		out[j] = strdup(argv[i]);
		if (!out[j++])
			goto fail;
	}
	if (add_exec_args(out, j, a))
		return out;
fail:
	options_free_argv(out);
	return NULL;
}

/* Is @arg one of the vault's own options, which each process gets anew? */
static bool options_vault_own(const char *arg, bool *skip)
{
	static const char *const names[] = {
		"--vault-fd", "--records-fd", "--vault-adopt",
	};
	size_t n = strcspn(arg, "=");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (n == strlen(names[i]) && !strncmp(arg, names[i], n)) {
			*skip = arg[n] == '\0';
			return true;
		}
	}
	return false;
}

/*
 * @argv less the vault's own options and, unless @keep, the one-shot
 * ones, with room for 4 more words; *@j is where they go.
 */
static char **copy_argv(char *const *argv, bool keep, size_t *j)
{
	size_t n = 0, i;
	bool skip = false;
	char **out;

	while (argv[n])
		n++;
	out = calloc(n + 5, sizeof(*out));
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (i > 0 && (options_vault_own(argv[i], &skip) ||
			      (!keep && options_one_shot(argv[i], &skip)))) {
			i += skip;
			continue;
		}
		out[*j] = strdup(argv[i]);
		if (!out[(*j)++]) {
			options_free_argv(out);
			return NULL;
		}
	}
	return out;
}

/**
 * options_engine_argv() - the command line of the vault's engine
 * @argv:       the vault's original command line
 * @first:      the first engine: keeps every option (--ready-fd too);
 *              otherwise one-shot options go and --recover is added
 * @vault_fd:   the engine's end of its pair with the vault
 * @records_fd: the records memfd
 * @rolled_back: "ERRNO:WHY" if a REBOOT's or an UPGRADE's new image failed
 *              (--rolled-back, with --recover), or NULL
 *
 * Return: a new NULL-terminated vector (options_free_argv()), or NULL.
 */
char **options_engine_argv(char *const *argv, bool first, int vault_fd,
			   int records_fd, const char *rolled_back)
{
	size_t j = 0;
	char **out = copy_argv(argv, first, &j);

	if (out && add_word(out, &j, true, "vault-fd", vault_fd, NULL) &&
	    add_word(out, &j, true, "records-fd", records_fd, NULL) &&
	    add_word(out, &j, !first && rolled_back, "rolled-back", 0,
		     rolled_back) &&
	    (first || (out[j++] = strdup("--recover"))))
		return out;
	options_free_argv(out);
	return NULL;
}

/**
 * options_vault_argv() - the command line of a new vault an engine starts
 * @argv:       the engine's command line
 * @engine:     the engine's pid (--vault-adopt)
 * @vault_fd:   the new vault's end of its pair with the engine
 * @records_fd: the records memfd
 *
 * Return: a new NULL-terminated vector (options_free_argv()), or NULL.
 */
char **options_vault_argv(char *const *argv, pid_t engine, int vault_fd,
			  int records_fd)
{
	size_t j = 0;
	char **out = copy_argv(argv, false, &j);

	if (out && add_word(out, &j, true, "vault-adopt", engine, NULL) &&
	    add_word(out, &j, true, "vault-fd", vault_fd, NULL) &&
	    add_word(out, &j, true, "records-fd", records_fd, NULL))
		return out;
	options_free_argv(out);
	return NULL;
}

/**
 * options_free_argv() - free what options_exec_argv() made
 * @argv: the vector, or NULL
 */
void options_free_argv(char **argv)
{
	size_t n;

	if (!argv)
		return;
	for (n = 0; argv[n]; n++)
		free(argv[n]);
	free(argv);
}
