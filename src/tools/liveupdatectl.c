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

struct ctl {
	const char *socket;	/* --socket, or NULL for the default */
	char path[PATH_MAX];	/* the socket actually used, for messages */
	bool json;
	const char *exec;	/* reboot and upgrade --exec */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: liveupdatectl [--socket PATH] [--json] COMMAND\n"
		"\n"
		"Commands:\n"
		"  status               the orchestrator at a glance\n"
		"  list                 sessions and their files\n"
		"  reboot [--exec PATH] the kexec stand-in: re-execute the\n"
		"                       orchestrator (PATH or the same binary),\n"
		"                       every session incoming\n"
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
		"  -h, --help           this text\n"
		"  -V, --version        print the version\n");
}

static int ctl_open(struct ctl *c)
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
	fd = luo_open_at(c->path, LUO_OPEN_CONTROL);
	if (fd == -ENOENT)
		fprintf(stderr,
			"liveupdatectl: no orchestrator at %s: is liveupdated running?\n",
			c->path);
	else if (fd == -EACCES)
		fprintf(stderr, "liveupdatectl: %s: permission denied\n",
			c->path);
	else if (fd < 0)
		fprintf(stderr, "liveupdatectl: %s: %s\n", c->path,
			strerror(-fd));
	return fd;
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

static int cmd_reboot(struct ctl *c, int fd)
{
	uint64_t update;
	int exec_fd = open_exec(c), ret;

	if (exec_fd == -2)
		return 1;
	ret = luo_reboot(fd, exec_fd, &update);
	if (exec_fd >= 0)
		close(exec_fd);
	if (ret) {
		ctl_error("reboot", ret);
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

static int cmd_upgrade(struct ctl *c, int fd)
{
	int exec_fd = open_exec(c), ret;

	if (exec_fd == -2)
		return 1;
	ret = luo_upgrade(fd, exec_fd);
	if (exec_fd >= 0)
		close(exec_fd);
	if (ret) {
		ctl_error("upgrade", ret);
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "exec", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	const char *cmd;
	int opt, fd, ret;

	while ((opt = getopt_long(argc, argv, "s:je:hV", opts, NULL)) != -1) {
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
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("liveupdatectl (luo) %s\n", LUO_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, optind == argc ?
			"liveupdatectl: no command given\n" :
			"liveupdatectl: too many arguments\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "status") && strcmp(cmd, "list") &&
	    strcmp(cmd, "reboot") && strcmp(cmd, "upgrade")) {
		fprintf(stderr, "liveupdatectl: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (c.exec && strcmp(cmd, "reboot") && strcmp(cmd, "upgrade")) {
		fprintf(stderr,
			"liveupdatectl: --exec is for reboot and upgrade only\n");
		return EXIT_USAGE;
	}
	if (c.socket && !*c.socket) {
		fprintf(stderr, "liveupdatectl: empty --socket\n");
		return EXIT_USAGE;
	}

	fd = ctl_open(&c);
	if (fd < 0)
		return 1;
	if (!strcmp(cmd, "status"))
		ret = cmd_status(&c, fd);
	else if (!strcmp(cmd, "list"))
		ret = cmd_list(&c, fd);
	else if (!strcmp(cmd, "upgrade"))
		ret = cmd_upgrade(&c, fd);
	else
		ret = cmd_reboot(&c, fd);
	luo_close(fd);
	return ret;
}
