/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The listening sockets luo-listen hands to a service: parsed from the
 * command line, created on the first start, checked when a later start
 * gets them back from the orchestrator.
 */
#ifndef LUO_LISTEN_ADDR_H
#define LUO_LISTEN_ADDR_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

/* What systemd allows in an fd name (sd_listen_fds_with_names(3)). */
#define LISTEN_FDNAME_MAX	255

/**
 * struct listen_spec - one socket of the command line
 * @text:   the argument as given, without its ",name=" part
 * @name:   its name in LISTEN_FDNAMES
 * @family: AF_INET, AF_INET6 or AF_UNIX
 * @addr:   the address to bind
 * @len:    the length of @addr
 */
struct listen_spec {
	char text[256];
	char name[LISTEN_FDNAME_MAX + 1];
	int family;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
		struct sockaddr_un un;
	} addr;
	socklen_t len;
};

int listen_spec_parse(const char *arg, const char *defname,
		      struct listen_spec *s);
int listen_spec_create(const struct listen_spec *s, int backlog);
int listen_spec_check(const struct listen_spec *s, int fd, char *why,
		      size_t len);

#endif /* LUO_LISTEN_ADDR_H */
