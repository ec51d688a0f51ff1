// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvd — a memcached-protocol key-value server that live-updates itself.
 *
 *   kvd [--port N] [--bind ADDR] [--memory MIB] [--session NAME]
 *       [--socket PATH] [--exec PATH] [--handoff luo|unix]
 *       [--control FIFO] [--ready-fd FD] [--save FILE] [--load FILE]
 *   kvd upgrade [--control FIFO] [NEW_BINARY]
 *
 * SIGUSR2, or "kvd upgrade", hands the dataset and every connection to a
 * new image of NEW_BINARY (default: the --exec path, else this binary).
 * --save and --load are the cold restart instead: the dataset goes to FILE
 * when kvd stops, and a kvd started with --load FILE begins with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvd.h"
#include "persist.h"

#ifndef KVD_VERSION
#define KVD_VERSION "1.0"
#endif

struct opts {
	const char *bind;
	int port;
	uint64_t memory_mib;
	const char *control;
	const char *takeover;
	const char *save;
	const char *load;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: kvd [--port N] [--bind ADDR] [--memory MIB] [--session NAME]\n"
		"           [--socket PATH] [--exec PATH] [--handoff luo|unix]\n"
		"           [--control FIFO] [--ready-fd FD] [--save FILE] [--load FILE]\n"
		"       kvd upgrade [--control FIFO] [NEW_BINARY]\n");
	exit(2);
}

static const char *default_control(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("KVD_CONTROL");

	if (env)
		return env;
	snprintf(path, sizeof(path), "/tmp/kvd-%u.ctl", (unsigned)getuid());
	return path;
}

static int listen_tcp(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int fd, one = 1;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 4096)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* The control FIFO, held read-write so that it never reads end-of-file. */
static int open_control(const char *path)
{
	if (mkfifo(path, 0600) && errno != EEXIST)
		return -errno;
	return open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
}

static int parse(int argc, char **argv, struct kvd *k, struct opts *o)
{
	static const struct option lo[] = {
		{ "port", 1, NULL, 'p' }, { "bind", 1, NULL, 'b' },
		{ "memory", 1, NULL, 'm' }, { "session", 1, NULL, 's' },
		{ "socket", 1, NULL, 'S' }, { "exec", 1, NULL, 'e' },
		{ "handoff", 1, NULL, 'H' }, { "control", 1, NULL, 'c' },
		{ "ready-fd", 1, NULL, 'r' }, { "takeover", 1, NULL, 't' },
		{ "save", 1, NULL, 'W' }, { "load", 1, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:b:m:", lo, NULL)) != -1) {
		switch (c) {
		case 'p': o->port = atoi(optarg); break;
		case 'b': o->bind = optarg; break;
		case 'm': o->memory_mib = strtoull(optarg, NULL, 10); break;
		case 's': k->session = optarg; break;
		case 'S': k->socket = optarg; break;
		case 'e': snprintf(k->exec_path, sizeof(k->exec_path), "%s", optarg); break;
		case 'H': k->handoff = strcmp(optarg, "unix") ? KVD_HANDOFF_LUO :
							      KVD_HANDOFF_UNIX; break;
		case 'c': o->control = optarg; break;
		case 'r': k->ready_fd = atoi(optarg); break;
		case 't': o->takeover = optarg; break;
		case 'W': o->save = optarg; break;
		case 'L': o->load = optarg; break;
		default: usage();
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

/* "kvd upgrade [--control FIFO] [NEW_BINARY]" */
static int upgrade_cmd(int argc, char **argv)
{
	const char *control = default_control(), *bin = "";
	char line[PATH_MAX + 2], abs[PATH_MAX];
	int fd, i = 2, n;

	if (i + 1 < argc && !strcmp(argv[i], "--control")) {
		control = argv[i + 1];
		i += 2;
	}
	if (i < argc)
		bin = realpath(argv[i], abs) ? abs : argv[i];
	fd = open(control, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "kvd upgrade: %s: %m\n", control);
		return 1;
	}
	n = snprintf(line, sizeof(line), "%s\n", bin);
	if (write(fd, line, (size_t)n) != n) {
		fprintf(stderr, "kvd upgrade: %s: %m\n", control);
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static int start_fresh(struct kvd *k, const struct opts *o)
{
	int ret = o->load ? kvd_store_load(&k->store, o->load) :
			    kvd_store_create(&k->store, o->memory_mib << 20);

	if (ret)
		return ret;
	if (!o->load)
		k->store.hdr->started = time(NULL);
	k->listen_fd = listen_tcp(o->bind, o->port);
	return k->listen_fd < 0 ? k->listen_fd : 0;
}

/*
 * A stop, not an upgrade: the orchestrator holds a duplicate of the
 * listening socket and of every connection in the outgoing session, and
 * closes them only when it gets round to discarding that session, after
 * kvd has exited.  Until then the port stayed bound to a listener nobody
 * serves (a kvd started at once on it failed with EADDRINUSE: the
 * benchmark's floor after 10,000 connections) and clients waited on
 * connections nobody answers.  shutdown() ends them now, whoever else
 * holds them: the listener leaves the LISTEN state, which frees the port
 * for the next server's SO_REUSEADDR bind, and each client sees its
 * connection end.
 */
static void end_sockets(struct kvd *k)
{
	struct kvd_conn *c;

	if (k->listen_fd >= 0)
		shutdown(k->listen_fd, SHUT_RDWR);
	list_for_each_entry(c, &k->conns, link)
		shutdown(c->fd, SHUT_RDWR);
}

static void shutdown_all(struct kvd *k, bool stopped)
{
	if (stopped)
		end_sockets(k);
	kvd_keep_free(k);
	while (!list_empty(&k->conns))
		kvd_conn_close(k, list_entry(k->conns.next, struct kvd_conn,
					     link));
	kvd_store_close(&k->store);
	if (k->listen_fd >= 0)
		close(k->listen_fd);
	close(k->epfd);
	if (k->sigfd >= 0)
		close(k->sigfd);
	if (k->ctl_fd >= 0)
		close(k->ctl_fd);
}

int main(int argc, char **argv)
{
	struct opts o = { .bind = "127.0.0.1", .port = 11211,
			  .memory_mib = 1024 };
	struct kvd k = { .listen_fd = -1, .sigfd = -1, .ctl_fd = -1,
			 .session = "kvd", .ready_fd = -1, .argv = argv,
			 .store.fd = -1 };
	bool served = false;
	int ret;

	if (argc > 1 && !strcmp(argv[1], "upgrade"))
		return upgrade_cmd(argc, argv);
	list_init(&k.conns);
	kvd_keep_init(&k);
	o.control = default_control();
	if (parse(argc, argv, &k, &o))
		usage();
	if (!k.exec_path[0] &&
	    readlink("/proc/self/exe", k.exec_path, sizeof(k.exec_path) - 1) < 0)
		return 1;
	k.epfd = epoll_create1(EPOLL_CLOEXEC);
	k.ctl_fd = open_control(o.control);
	ret = k.epfd < 0 ? -errno : o.takeover ? kvd_takeover(&k, o.takeover) :
						 start_fresh(&k, &o);
	/* The dataset and the listener go into the session before serving. */
	if (!ret && !o.takeover && k.handoff == KVD_HANDOFF_LUO)
		kvd_keep_sync(&k);
	if (!ret) {
		if (!o.takeover)
			kvd_log("kvd %s serving on %s:%d, %llu MiB", KVD_VERSION,
				o.bind, o.port,
				(unsigned long long)(k.store.hdr->size >> 20));
		else
			kvd_log("kvd %s took over", KVD_VERSION);
		ret = kvd_serve(&k);
		/*
		 * Only a server stopped after serving ends its sockets: after
		 * a failed take-over they stay in the incoming session for
		 * the next retriever.
		 */
		served = !ret;
	}
	if (!ret && o.save)
		ret = kvd_store_save(&k.store, o.save);
	if (ret)
		kvd_log("fatal: %s", strerror(-ret));
	shutdown_all(&k, served);
	return ret ? 1 : 0;
}
