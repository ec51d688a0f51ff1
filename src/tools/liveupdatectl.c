// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * liveupdatectl: the administrator's view of liveupdated.
 *
 * Works over a control open (DESIGN.md section 4), so it can be used while
 * an agent holds the device.  Exit codes: 0 ok, 1 the operation failed,
 * 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <luo/libluo.h>

#define EXIT_USAGE	2

/* Long options without a short one. */
enum { OPT_KERNEL = 0x100, OPT_INITRD, OPT_APPEND };

struct ctl {
	const char *socket;	/* --socket, or NULL for the default */
	char path[PATH_MAX];	/* the socket actually used, for messages */
	bool json;
	bool verbose;		/* --verbose: say what a wait is for */
	const char *exec;	/* reboot --exec */
	bool kexec;		/* reboot --kexec */
	const char *kernel;	/* reboot --kexec --kernel */
	const char *initrd;	/* reboot --kexec --initrd */
	const char *append;	/* reboot --kexec --append */
	bool has_owner;		/* --owner given */
	uint32_t owner;		/* show, drop: the session's owner */
	char **args;		/* the command's arguments */
	int nr_args;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: liveupdatectl [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  status               the orchestrator at a glance\n"
		"  list                 sessions and their files\n"
		"  show SESSION         one session: owner, direction, state, files\n"
		"  drop SESSION         end a stale incoming session (root only)\n"
		"  check FILE|fd:N...   can these files be preserved? if not, why\n"
		"  reboot [--exec PATH] the kexec stand-in: re-execute the\n"
		"                       orchestrator (PATH or the same binary),\n"
		"                       every session incoming\n"
		"  reboot --kexec [--kernel PATH] [--initrd PATH] [--append ARGS]\n"
		"                       a real kexec (liveupdated --pool): into\n"
		"                       PATH (default /boot/vmlinuz-$(uname -r),\n"
		"                       its initrd, /proc/cmdline); the next\n"
		"                       boot's liveupdated serves every session\n"
		"  upgrade [--exec PATH] upgrade the orchestrator itself to PATH\n"
		"                       or the same binary; nothing else changes\n"
		"  help                 this text\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH    the orchestrator's socket (default: $LUO_SOCKET,\n"
		"                       /run/liveupdate/liveupdate.sock for root,\n"
		"                       $XDG_RUNTIME_DIR/liveupdate/liveupdate.sock)\n"
		"  -j, --json           print JSON\n"
		"  -e, --exec PATH      (reboot, upgrade) the new image\n"
		"  -k, --kexec          (reboot) kexec a kernel, not the stand-in\n"
		"      --kernel PATH    (reboot --kexec) the kernel image\n"
		"      --initrd PATH    (reboot --kexec) the initrd; \"\" for none\n"
		"      --append ARGS    (reboot --kexec) the new kernel's command line\n"
		"  -o, --owner UID      (show, drop) the session's owner\n"
		"  -v, --verbose        (reboot, upgrade) say what it waits for,\n"
		"                       even when standard error is no terminal\n"
		"  -h, --help           this text\n"
		"  -V, --version        print the version\n");
}

static int ctl_open_mode(struct ctl *c, int mode)
{
	int fd, ret;

	if (c->socket) {
		snprintf(c->path, sizeof(c->path), "%s", c->socket);
	} else {
		ret = luo_default_socket_path(c->path, sizeof(c->path));
		if (ret) {
			if (ret == -ENOENT)
				fprintf(stderr,
					"liveupdatectl: no socket path: set XDG_RUNTIME_DIR or LUO_SOCKET, or use --socket\n");
			else
				fprintf(stderr,
					"liveupdatectl: socket path: %s\n",
					strerror(-ret));
			return ret;
		}
	}
	fd = luo_open_at(c->path, mode);
	if (fd == -ENOENT)
		fprintf(stderr,
			"liveupdatectl: no orchestrator at %s: is liveupdated running?\n",
			c->path);
	else if (fd == -EACCES)
		fprintf(stderr, "liveupdatectl: %s: permission denied\n",
			c->path);
	else if (fd == -EBUSY && mode == LUO_OPEN_DEVICE)
		fprintf(stderr,
			"liveupdatectl: %s: another process of this user holds the device\n",
			c->path);
	else if (fd < 0)
		fprintf(stderr, "liveupdatectl: %s: %s\n", c->path,
			strerror(-fd));
	return fd;
}

static int ctl_open(struct ctl *c)
{
	return ctl_open_mode(c, LUO_OPEN_CONTROL);
}

static void ctl_error(const char *what, int err)
{
	if (err == -ENODEV)
		fprintf(stderr,
			"liveupdatectl: %s: the orchestrator went away\n",
			what);
	else
		fprintf(stderr, "liveupdatectl: %s: %s\n", what,
			strerror(-err));
}

static int print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return fflush(stdout) ? 1 : 0;
}

/* A failed self-upgrade (rolled back), if there was one. */
static void status_failures(const struct luo_status *st)
{
	if (!st->failed_reboots)
		return;
	printf("failed reboots:  %u\n", st->failed_reboots);
	if (st->last_reboot_error)
		printf("last failure:    %.*s (%s)\n",
		       (int)sizeof(st->last_reboot_failure),
		       st->last_reboot_failure,
		       strerror(st->last_reboot_error));
}

static void status_failures_json(struct json_object *o,
				 const struct luo_status *st)
{
	char why[LUO_REBOOT_FAILURE_LENGTH + 1];

	memcpy(why, st->last_reboot_failure, LUO_REBOOT_FAILURE_LENGTH);
	why[LUO_REBOOT_FAILURE_LENGTH] = '\0';
	json_object_object_add(o, "failed_reboots",
			       json_object_new_int64(st->failed_reboots));
	json_object_object_add(o, "last_reboot_error",
			       json_object_new_int(st->last_reboot_error));
	json_object_object_add(o, "last_reboot_failure",
			       json_object_new_string(why));
}

static int cmd_status(struct ctl *c, int fd)
{
	struct luo_status st;
	char version[LUO_VERSION_LENGTH + 1];
	const char *handlers;
	bool held, rebooting;
	int ret;

	ret = luo_status(fd, &st);
	if (ret) {
		ctl_error("status", ret);
		return 1;
	}
	memcpy(version, st.version, LUO_VERSION_LENGTH);
	version[LUO_VERSION_LENGTH] = '\0';
	held = st.flags & LUO_STATUS_DEVICE_OPEN;
	rebooting = st.flags & LUO_STATUS_REBOOTING;
	handlers = st.flags & LUO_STATUS_KERNEL_HANDLERS ? "kernel" : "luo";

	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "socket",
				       json_object_new_string(c->path));
		json_object_object_add(o, "update_number",
				       json_object_new_uint64(st.update_number));
		json_object_object_add(o, "pid", json_object_new_int64(st.pid));
		json_object_object_add(o, "version",
				       json_object_new_string(version));
		json_object_object_add(o, "outgoing_sessions",
				       json_object_new_int64(st.nr_outgoing));
		json_object_object_add(o, "incoming_sessions",
				       json_object_new_int64(st.nr_incoming));
		json_object_object_add(o, "files",
				       json_object_new_uint64(st.nr_files));
		json_object_object_add(o, "device_held",
				       json_object_new_boolean(held));
		json_object_object_add(o, "rebooting",
				       json_object_new_boolean(rebooting));
		json_object_object_add(o, "handlers",
				       json_object_new_string(handlers));
		json_object_object_add(o, "max_sessions",
				       json_object_new_int64(st.max_sessions));
		json_object_object_add(o, "max_files_per_session",
				       json_object_new_int64(st.max_files));
		json_object_object_add(o, "last_reboot_ns",
				       json_object_new_uint64(st.last_reboot_ns));
		status_failures_json(o, &st);
		return print_json(o);
	}

	printf("socket:          %s\n", c->path);
	printf("update number:   %" PRIu64 "\n", (uint64_t)st.update_number);
	printf("daemon pid:      %u\n", st.pid);
	printf("version:         %s\n", version);
	printf("sessions:        %u outgoing, %u incoming\n", st.nr_outgoing,
	       st.nr_incoming);
	printf("files:           %" PRIu64 "\n", (uint64_t)st.nr_files);
	printf("device held:     %s\n", held ? "yes" : "no");
	printf("rebooting:       %s\n", rebooting ? "yes" : "no");
	printf("file handlers:   %s\n", handlers);
	printf("limits:          %u sessions, %u files per session\n",
	       st.max_sessions, st.max_files);
	if (st.last_reboot_ns)
		printf("last reboot:     %" PRIu64 ".%03" PRIu64 " ms\n",
		       (uint64_t)st.last_reboot_ns / 1000000,
		       (uint64_t)st.last_reboot_ns / 1000 % 1000);
	else
		printf("last reboot:     none\n");
	status_failures(&st);
	return fflush(stdout) ? 1 : 0;
}

static const char *direction_name(unsigned int d)
{
	switch (d) {
	case LUO_OUTGOING:
		return "outgoing";
	case LUO_INCOMING:
		return "incoming";
	default:
		return "unknown";
	}
}

static const char *state_name(unsigned int s)
{
	switch (s) {
	case LUO_SESSION_OPEN:
		return "open";
	case LUO_SESSION_RETRIEVED:
		return "retrieved";
	case LUO_SESSION_FINISHED:
		return "finished";
	default:
		return "unknown";
	}
}

static void retrieve_text(const struct luo_list_record *r, char *buf,
			  size_t len)
{
	if (r->direction != LUO_INCOMING)
		snprintf(buf, len, "-");
	else if (r->retrieve_status == 0)
		snprintf(buf, len, "not retrieved");
	else if (r->retrieve_status > 0)
		snprintf(buf, len, "retrieved");
	else
		snprintf(buf, len, "failed: %s",
			 strerror(-r->retrieve_status));
}

struct list_ctx {
	bool json;
	unsigned long nr_sessions;
	struct json_object *sessions;	/* --json: array of sessions */
	struct json_object *files;	/* --json: the current session's */
};

static void list_session_json(struct list_ctx *l,
			      const struct luo_list_record *r)
{
	struct json_object *s = json_object_new_object();

	json_object_object_add(s, "name", json_object_new_string(r->name));
	json_object_object_add(s, "owner", json_object_new_int64(r->owner));
	json_object_object_add(s, "direction",
		json_object_new_string(direction_name(r->direction)));
	json_object_object_add(s, "state",
		json_object_new_string(state_name(r->state)));
	json_object_object_add(s, "nr_files",
			       json_object_new_int64(r->nr_files));
	l->files = json_object_new_array();
	json_object_object_add(s, "files", l->files);
	json_object_array_add(l->sessions, s);
}

static void list_file_json(struct list_ctx *l,
			   const struct luo_list_record *r, const char *status)
{
	struct json_object *f = json_object_new_object();
	char hex[32];

	snprintf(hex, sizeof(hex), "0x%" PRIx64, (uint64_t)r->token);
	json_object_object_add(f, "token", json_object_new_uint64(r->token));
	json_object_object_add(f, "token_hex", json_object_new_string(hex));
	json_object_object_add(f, "handler", json_object_new_string(r->name));
	json_object_object_add(f, "retrieve_status",
			       json_object_new_int(r->retrieve_status));
	json_object_object_add(f, "retrieve", json_object_new_string(status));
	json_object_array_add(l->files, f);
}

static int list_record(const struct luo_list_record *r, void *p)
{
	struct list_ctx *l = p;
	char status[128], tok[64];

	retrieve_text(r, status, sizeof(status));
	if (r->type == LUO_LIST_SESSION) {
		l->nr_sessions++;
		if (l->json) {
			list_session_json(l, r);
			return 0;
		}
		if (l->nr_sessions == 1)
			printf("%-40s %10s %-9s %-9s %6s\n", "SESSION",
			       "OWNER", "DIRECTION", "STATE", "FILES");
		printf("%-40s %10u %-9s %-9s %6u\n", r->name, r->owner,
		       direction_name(r->direction), state_name(r->state),
		       r->nr_files);
		return 0;
	}
	if (r->type != LUO_LIST_FILE)
		return 0;
	if (!l->nr_sessions)
		return -EPROTO;	/* a file before any session */
	if (l->json) {
		list_file_json(l, r, status);
		return 0;
	}
	snprintf(tok, sizeof(tok), "%" PRIu64 " (0x%" PRIx64 ")",
		 (uint64_t)r->token, (uint64_t)r->token);
	printf("    token %-34s %-24s %s\n", tok, r->name, status);
	return 0;
}

static int cmd_list(struct ctl *c, int fd)
{
	struct list_ctx l = { .json = c->json };
	int ret;

	if (c->json)
		l.sessions = json_object_new_array();
	ret = luo_list(fd, list_record, &l);
	if (ret) {
		json_object_put(l.sessions);
		ctl_error("list", ret);
		return 1;
	}
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "sessions", l.sessions);
		return print_json(o);
	}
	if (!l.nr_sessions)
		printf("no sessions\n");
	return fflush(stdout) ? 1 : 0;
}

/* show SESSION: the sessions of that name (one per owner and direction). */
struct show_ctx {
	struct list_ctx l;
	const char *name;
	bool has_owner;
	uint32_t owner;
	bool match;		/* the current session is shown */
	unsigned long nr_files;	/* the current session's files shown */
};

static int show_record(const struct luo_list_record *r, void *p)
{
	struct show_ctx *sh = p;
	char status[128], tok[64];

	if (r->type == LUO_LIST_SESSION) {
		sh->match = !strcmp(r->name, sh->name) &&
			    (!sh->has_owner || r->owner == sh->owner);
		sh->nr_files = 0;
		if (!sh->match)
			return 0;
		sh->l.nr_sessions++;
		if (sh->l.json) {
			list_session_json(&sh->l, r);
			return 0;
		}
		if (sh->l.nr_sessions > 1)
			putchar('\n');
		printf("session:    %s\n", r->name);
		printf("owner:      %u\n", r->owner);
		printf("direction:  %s\n", direction_name(r->direction));
		printf("state:      %s\n", state_name(r->state));
		printf("files:      %u\n", r->nr_files);
		return 0;
	}
	if (r->type != LUO_LIST_FILE || !sh->match)
		return 0;
	retrieve_text(r, status, sizeof(status));
	if (sh->l.json) {
		list_file_json(&sh->l, r, status);
		return 0;
	}
	if (!sh->nr_files++)
		printf("    %-34s %-24s %s\n", "TOKEN", "HANDLER", "RETRIEVE");
	snprintf(tok, sizeof(tok), "%" PRIu64 " (0x%" PRIx64 ")",
		 (uint64_t)r->token, (uint64_t)r->token);
	printf("    %-34s %-24s %s\n", tok, r->name, status);
	return 0;
}

static int cmd_show(struct ctl *c, int fd)
{
	struct show_ctx sh = {
		.l.json = c->json,
		.name = c->args[0],
		.has_owner = c->has_owner,
		.owner = c->owner,
	};
	int ret;

	if (c->json)
		sh.l.sessions = json_object_new_array();
	ret = luo_list(fd, show_record, &sh);
	if (ret) {
		json_object_put(sh.l.sessions);
		ctl_error("show", ret);
		return 1;
	}
	if (!sh.l.nr_sessions) {
		json_object_put(sh.l.sessions);
		if (c->has_owner)
			fprintf(stderr,
				"liveupdatectl: show: no session '%s' of uid %u\n",
				sh.name, c->owner);
		else
			fprintf(stderr, "liveupdatectl: show: no session '%s'\n",
				sh.name);
		return 1;
	}
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "sessions", sh.l.sessions);
		return print_json(o);
	}
	return fflush(stdout) ? 1 : 0;
}

/* drop without --owner: the one incoming session of that name. */
struct find_ctx {
	const char *name;
	unsigned int found;
	uint32_t owner;
	uint32_t other;		/* a second owner, for the message */
};

static int find_incoming(const struct luo_list_record *r, void *p)
{
	struct find_ctx *f = p;

	if (r->type != LUO_LIST_SESSION || r->direction != LUO_INCOMING ||
	    strcmp(r->name, f->name))
		return 0;
	if (f->found++)
		f->other = r->owner;
	else
		f->owner = r->owner;
	return 0;
}

static int cmd_drop(struct ctl *c, int fd)
{
	const char *name = c->args[0];
	uint32_t owner = c->owner, nr_files = 0;
	int ret;

	if (!c->has_owner) {
		struct find_ctx f = { .name = name };

		ret = luo_list(fd, find_incoming, &f);
		if (ret) {
			ctl_error("drop", ret);
			return 1;
		}
		if (!f.found) {
			fprintf(stderr,
				"liveupdatectl: drop: no incoming session '%s'\n",
				name);
			return 1;
		}
		if (f.found > 1) {
			fprintf(stderr,
				"liveupdatectl: drop: %u incoming sessions are named '%s' (uids %u, %u...): say which with --owner\n",
				f.found, name, f.owner, f.other);
			return 1;
		}
		owner = f.owner;
	}
	ret = luo_drop_session(fd, name, owner, &nr_files);
	switch (ret) {
	case 0:
		break;
	case -ENOENT:
		fprintf(stderr,
			"liveupdatectl: drop: no incoming session '%s' of uid %u\n",
			name, owner);
		return 1;
	case -EBUSY:
		fprintf(stderr,
			"liveupdatectl: drop: session '%s' of uid %u is held by a session fd, or a file's handler refuses FINISH\n",
			name, owner);
		return 1;
	case -EPERM:
		fprintf(stderr,
			"liveupdatectl: drop: only the administrator may drop a session\n");
		return 1;
	default:
		ctl_error("drop", ret);
		return 1;
	}
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "dropped",
				       json_object_new_string(name));
		json_object_object_add(o, "owner",
				       json_object_new_int64(owner));
		json_object_object_add(o, "nr_files",
				       json_object_new_int64(nr_files));
		return print_json(o);
	}
	printf("dropped session '%s' of uid %u: %u files\n", name, owner,
	       nr_files);
	return fflush(stdout) ? 1 : 0;
}

/* "fd:N" names an inherited fd; anything else is a path, opened here. */
static int check_open(const char *arg, bool *opened)
{
	char *end;
	long n;
	int fd;

	*opened = false;
	if (!strncmp(arg, "fd:", 3)) {
		errno = 0;
		n = strtol(arg + 3, &end, 10);
		if (errno || end == arg + 3 || *end || n < 0 || n > INT32_MAX)
			return -EINVAL;
		return fcntl((int)n, F_GETFD) < 0 ? -errno : (int)n;
	}
	fd = open(arg, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*opened = true;
	return fd;
}

/* Preserve one file into @sfd under @token; print what came of it. */
static bool check_one(struct ctl *c, int sfd, const char *arg,
		      uint64_t token, struct json_object *arr)
{
	struct luo_session_error err;
	char why[LUO_SESSION_ERROR_LENGTH + 160];
	bool opened, ok;
	int fd, ret;

	fd = check_open(arg, &opened);
	if (fd < 0) {
		fprintf(stderr, "liveupdatectl: %s: %s\n", arg, strerror(-fd));
		return false;
	}
	ret = luo_session_preserve_fd(sfd, fd, token);
	if (opened)
		close(fd);
	ok = !ret;
	why[0] = '\0';
	if (ret) {
		int r = luo_session_last_error(sfd, &err);

		if (!r && err.error == -ret && err.token == token &&
		    *err.reason)
			snprintf(why, sizeof(why), "%s: %s", strerror(-ret),
				 err.reason);
		else
			snprintf(why, sizeof(why), "%s", strerror(-ret));
	}
	if (arr) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(arg));
		json_object_object_add(o, "preservable",
				       json_object_new_boolean(ok));
		json_object_object_add(o, "error", json_object_new_int(-ret));
		json_object_object_add(o, "reason",
				       json_object_new_string(why));
		json_object_array_add(arr, o);
	} else if (ok) {
		printf("%s: can be preserved\n", arg);
	} else {
		printf("%s: refused: %s\n", arg, why);
	}
	return ok;
}

static int cmd_check(struct ctl *c, int unused)
{
	struct json_object *arr = c->json ? json_object_new_array() : NULL;
	char name[LIVEUPDATE_SESSION_NAME_LENGTH];
	int dev, sfd, i, ret = 0;

	dev = ctl_open_mode(c, LUO_OPEN_DEVICE);
	if (dev < 0) {
		json_object_put(arr);
		return 1;
	}
	snprintf(name, sizeof(name), "liveupdatectl-check-%ld",
		 (long)getpid());
	sfd = luo_create_session(dev, name);
	if (sfd < 0) {
		json_object_put(arr);
		ctl_error("check: create a session", sfd);
		luo_close(dev);
		return 1;
	}
	for (i = 0; i < c->nr_args; i++)
		if (!check_one(c, sfd, c->args[i], (uint64_t)i + 1, arr))
			ret = 1;
	/* The last close of an outgoing session unpreserves what it took. */
	luo_close(sfd);
	luo_close(dev);
	if (arr) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "files", arr);
		return print_json(o) | ret;
	}
	return fflush(stdout) ? 1 : ret;
}

/* reboot: the line that says what the wait is for, from SIGALRM. */
static char wait_line[160];

static void say_waiting(int sig)
{
	ssize_t n = write(STDERR_FILENO, wait_line, strlen(wait_line));

	(void)n;
}

static void reboot_announce(struct ctl *c, const struct luo_status *st)
{
	struct sigaction sa = { .sa_handler = say_waiting,
				.sa_flags = SA_RESTART };

	if (!c->verbose && !isatty(STDERR_FILENO))
		return;
	if (st->takeover_ms)
		snprintf(wait_line, sizeof(wait_line),
			 "liveupdatectl: waiting for the new image to take over (takeover timeout %u.%u s)\n",
			 st->takeover_ms / 1000, st->takeover_ms % 1000 / 100);
	else
		snprintf(wait_line, sizeof(wait_line),
			 "liveupdatectl: waiting for the new image to take over\n");
	sigemptyset(&sa.sa_mask);
	if (!sigaction(SIGALRM, &sa, NULL))
		alarm(1);
}

/* After a failed REBOOT: what the daemon recorded, from a new connection. */
static void reboot_failed(struct ctl *c, const struct luo_status *before,
			  int err)
{
	struct luo_status st;
	int fd, ret;

	fd = luo_open_at(c->path, LUO_OPEN_CONTROL);
	ret = fd < 0 ? fd : luo_status(fd, &st);
	if (fd >= 0)
		luo_close(fd);
	if (ret || st.failed_reboots == before->failed_reboots ||
	    !st.last_reboot_failure[0]) {
		ctl_error("reboot", err);
		return;
	}
	fprintf(stderr, "liveupdatectl: reboot failed: %s (%s)\n",
		st.last_reboot_failure,
		strerror(st.last_reboot_error ? st.last_reboot_error : -err));
	fprintf(stderr,
		"liveupdatectl: the orchestrator (pid %u, update number %" PRIu64 ") runs on; nothing changed\n",
		st.pid, (uint64_t)st.update_number);
}

/* --exec PATH opened O_PATH, or -1 without it; -2 after an error. */
static int open_exec(const struct ctl *c)
{
	int fd;

	if (!c->exec)
		return -1;
	fd = open(c->exec, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "liveupdatectl: %s: %s\n", c->exec,
			strerror(errno));
		return -2;
	}
	return fd;
}

/* An absolute path for the daemon, whose directory is not ours. */
static int kexec_path(const char *what, const char *path, char *out)
{
	char *abs;

	abs = realpath(path, NULL);
	if (!abs) {
		fprintf(stderr, "liveupdatectl: %s %s: %s\n", what, path,
			strerror(errno));
		return -1;
	}
	if (strlen(abs) >= LUO_KEXEC_PATH_LENGTH) {
		fprintf(stderr, "liveupdatectl: %s %s: path too long\n", what,
			abs);
		free(abs);
		return -1;
	}
	strcpy(out, abs);
	free(abs);
	return 0;
}

/*
 * reboot --kexec: the daemon opens the kernel and the initrd (the request
 * is root's alone, and the wire carries one fd).  On success there is no
 * answer: the orchestrator goes away with the machine.
 */
static int cmd_reboot_kexec(struct ctl *c, int fd)
{
	struct luo_reboot_kexec arg = { .size = sizeof(arg) };
	struct luo_status before;
	int ret;

	if (c->kernel && kexec_path("kernel", c->kernel, arg.kernel))
		return 1;
	if (c->initrd && !*c->initrd)
		arg.flags |= LUO_KEXEC_NO_INITRD;
	else if (c->initrd && kexec_path("initrd", c->initrd, arg.initrd))
		return 1;
	if (c->append) {
		if (strlen(c->append) >= sizeof(arg.cmdline)) {
			fprintf(stderr,
				"liveupdatectl: --append: longer than %d bytes\n",
				LUO_KEXEC_CMDLINE_LENGTH - 1);
			return 1;
		}
		strcpy(arg.cmdline, c->append);
		arg.flags |= LUO_KEXEC_CMDLINE;
	}
	if (luo_status(fd, &before))
		memset(&before, 0, sizeof(before));
	ret = luo_ioctl(fd, LUO_IOCTL_REBOOT_KEXEC, &arg);
	if (ret == -ENODEV) {
		printf("reboot --kexec: under way; the orchestrator is gone with this kernel\n");
		return fflush(stdout) ? 1 : 0;
	}
	reboot_failed(c, &before, ret ? ret : -EPROTO);
	return 1;
}

static int cmd_reboot(struct ctl *c, int fd)
{
	struct luo_status before;
	uint64_t update;
	int exec_fd, ret;

	if (c->kexec)
		return cmd_reboot_kexec(c, fd);
	exec_fd = open_exec(c);
	if (exec_fd == -2)
		return 1;
	/* What a failure changes: the count of failed reboots. */
	if (luo_status(fd, &before))
		memset(&before, 0, sizeof(before));
	reboot_announce(c, &before);
	ret = luo_reboot(fd, exec_fd, &update);
	alarm(0);
	if (exec_fd >= 0)
		close(exec_fd);
	if (ret) {
		reboot_failed(c, &before, ret);
		return 1;
	}
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "update_number",
				       json_object_new_uint64(update));
		return print_json(o);
	}
	printf("reboot done: update number %" PRIu64 "\n", update);
	return fflush(stdout) ? 1 : 0;
}

/*
 * UPGRADE: the daemon's failure is only an errno here (STATUS records
 * REBOOT's reason, not UPGRADE's; the daemon's log says why).
 */
static int cmd_upgrade(struct ctl *c, int fd)
{
	struct luo_status st;
	int exec_fd = open_exec(c), ret;

	if (exec_fd == -2)
		return 1;
	if (luo_status(fd, &st))
		memset(&st, 0, sizeof(st));
	reboot_announce(c, &st);
	ret = luo_upgrade(fd, exec_fd);
	alarm(0);
	if (exec_fd >= 0)
		close(exec_fd);
	if (ret) {
		ctl_error("upgrade", ret);
		fprintf(stderr,
			"liveupdatectl: nothing changed; the orchestrator's log says why\n");
		return 1;
	}
	if (c->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "upgraded",
				       json_object_new_boolean(true));
		return print_json(o);
	}
	printf("upgrade done\n");
	return fflush(stdout) ? 1 : 0;
}

/**
 * struct ctl_cmd - one command of the command line
 * @name:     as typed
 * @min_args: arguments it needs
 * @max_args: arguments it takes
 * @run:      the command, given a control fd (or -1 for @own_open)
 * @own_open: opens what it needs itself
 */
struct ctl_cmd {
	const char *name;
	int min_args;
	int max_args;
	int (*run)(struct ctl *c, int fd);
	bool own_open;
};

static const struct ctl_cmd commands[] = {
	{ "status", 0, 0, cmd_status, false },
	{ "list", 0, 0, cmd_list, false },
	{ "show", 1, 1, cmd_show, false },
	{ "drop", 1, 1, cmd_drop, false },
	{ "check", 1, INT32_MAX, cmd_check, true },
	{ "reboot", 0, 0, cmd_reboot, false },
	{ "upgrade", 0, 0, cmd_upgrade, false },
};

static const struct ctl_cmd *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* getopt's own messages would name the full path: ours name the tool. */
static int bad_option(char **argv, int opt)
{
	const char *arg = argv[optind - 1];

	if (opt == ':')
		fprintf(stderr, "liveupdatectl: option '%s' needs an argument\n",
			arg);
	else if (optopt && strncmp(arg, "--", 2))
		fprintf(stderr, "liveupdatectl: unknown option '-%c'\n",
			optopt);
	else
		fprintf(stderr, "liveupdatectl: unknown option '%s'\n", arg);
	fprintf(stderr, "liveupdatectl: see 'liveupdatectl --help'\n");
	return EXIT_USAGE;
}

static int parse_uid(const char *arg, uint32_t *uid)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v > UINT32_MAX - 1)
		return -EINVAL;
	*uid = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "exec", required_argument, NULL, 'e' },
		{ "owner", required_argument, NULL, 'o' },
		{ "kexec", no_argument, NULL, 'k' },
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "append", required_argument, NULL, OPT_APPEND },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_cmd *cmd;
	struct ctl c = { 0 };
	int opt, fd = -1, ret;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":s:je:o:kvhV", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'e':
			c.exec = optarg;
			break;
		case 'o':
			if (parse_uid(optarg, &c.owner)) {
				fprintf(stderr,
					"liveupdatectl: --owner: not a uid: '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			c.has_owner = true;
			break;
		case 'v':
			c.verbose = true;
			break;
		case 'k':
			c.kexec = true;
			break;
		case OPT_KERNEL:
			c.kernel = optarg;
			break;
		case OPT_INITRD:
			c.initrd = optarg;
			break;
		case OPT_APPEND:
			c.append = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("liveupdatectl (luo) %s\n", LUO_VERSION);
			return 0;
		default:
			return bad_option(argv, opt);
		}
	}
	if (optind == argc) {
		fprintf(stderr, "liveupdatectl: no command given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		usage(stdout);
		return 0;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "liveupdatectl: unknown command '%s'\n",
			argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	c.args = argv + optind + 1;
	c.nr_args = argc - optind - 1;
	if (c.nr_args < cmd->min_args) {
		fprintf(stderr, "liveupdatectl: %s: %s\n", cmd->name,
			cmd->min_args == 1 && cmd->max_args == 1 ?
			"which session?" : "which files?");
		return EXIT_USAGE;
	}
	if (c.nr_args > cmd->max_args) {
		fprintf(stderr, "liveupdatectl: %s: too many arguments\n",
			cmd->name);
		return EXIT_USAGE;
	}
	if (c.exec && strcmp(cmd->name, "reboot") &&
	    strcmp(cmd->name, "upgrade")) {
		fprintf(stderr,
			"liveupdatectl: --exec is for reboot and upgrade only\n");
		return EXIT_USAGE;
	}
	if ((c.kexec && strcmp(cmd->name, "reboot")) ||
	    ((c.kernel || c.initrd || c.append) && !c.kexec) ||
	    (c.kexec && c.exec)) {
		fprintf(stderr,
			"liveupdatectl: --kexec is for reboot, without --exec; --kernel, --initrd and --append need it\n");
		return EXIT_USAGE;
	}
	if (c.has_owner && strcmp(cmd->name, "show") &&
	    strcmp(cmd->name, "drop")) {
		fprintf(stderr,
			"liveupdatectl: --owner is for show and drop only\n");
		return EXIT_USAGE;
	}
	if (c.socket && !*c.socket) {
		fprintf(stderr, "liveupdatectl: empty --socket\n");
		return EXIT_USAGE;
	}

	if (!cmd->own_open) {
		fd = ctl_open(&c);
		if (fd < 0)
			return 1;
	}
	ret = cmd->run(&c, fd);
	if (fd >= 0)
		luo_close(fd);
	return ret;
}
