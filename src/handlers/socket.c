// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The socket handler, compatible "socket-v1" (DESIGN.md section 5): TCP and
 * UDP over IPv4 and IPv6, and Unix stream, datagram and seqpacket sockets,
 * listening or connected.
 *
 * A socket cannot be reopened: the daemon keeps the preserved fd and
 * retrieve returns another fd of the same open file description.  So the
 * socket is the same socket: an accepted connection keeps its peer, its
 * unread bytes and its unsent ones, a listening socket keeps its backlog
 * (connections that arrive while nobody accepts wait in it), a datagram
 * socket keeps its queued datagrams.
 *
 * Recorded (man/luo-socket.7): family, type, protocol, whether it listens,
 * and its local address.  Retrieve checks that the inherited fd is still
 * that socket: same family, type and protocol; listening if it listened;
 * the same local address if it had one (an unbound socket may have been
 * bound since, e.g. by a send).  The identity for EBUSY is the socket's
 * inode, which is unique per socket.
 *
 * Refused, with a reason in the log: sockets of other families (netlink,
 * packet, vsock, ...), other types or protocols (raw, SCTP, ICMP, ...), and
 * Unix sockets whose peer is the daemon itself — a session, device or
 * control fd, which the kernel refuses to preserve too.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "handlers.h"
#include "luo_handler.h"

#define SOCKET_LUO_LISTENING	(1u << 0)
#define SOCKET_LUO_FLAGS	SOCKET_LUO_LISTENING
#define SOCKET_LUO_ADDR_MAX	112

/**
 * struct socket_luo_ser - the socket handler's @data in the handover
 * @family:   AF_INET, AF_INET6 or AF_UNIX
 * @type:     SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET
 * @protocol: SO_PROTOCOL (IPPROTO_TCP, IPPROTO_UDP, 0 for Unix)
 * @flags:    SOCKET_LUO_LISTENING when last recorded
 * @reserved: 0
 * @addr_len: bytes of @addr used
 * @addr:     getsockname() when last recorded, as the kernel returns it
 *
 * Packed, 128 bytes, integers little-endian; @addr is a struct sockaddr in
 * the host's layout (ports and IPv4/IPv6 addresses in network order).
 */
struct socket_luo_ser {
	uint32_t family;
	uint32_t type;
	uint32_t protocol;
	uint8_t flags;
	uint8_t reserved;
	uint16_t addr_len;
	uint8_t addr[SOCKET_LUO_ADDR_MAX];
} __attribute__((packed));

_Static_assert(sizeof(struct socket_luo_ser) <= LUO_FILE_DATA_MAX,
	       "socket_luo_ser fits in the handover");
_Static_assert(sizeof(struct sockaddr_un) <= SOCKET_LUO_ADDR_MAX,
	       "a Unix address fits");

static void socket_ser_store(struct luo_file_op_args *args,
			     const struct socket_luo_ser *ser)
{
	struct socket_luo_ser le = *ser;

	le.family = htole32(ser->family);
	le.type = htole32(ser->type);
	le.protocol = htole32(ser->protocol);
	le.addr_len = htole16(ser->addr_len);
	memcpy(args->data, &le, sizeof(le));
	args->data_len = sizeof(le);
}

static int socket_ser_load(const struct luo_file_op_args *args,
			   struct socket_luo_ser *ser)
{
	if (args->data_len != sizeof(*ser))
		return -EINVAL;
	memcpy(ser, args->data, sizeof(*ser));
	ser->family = le32toh(ser->family);
	ser->type = le32toh(ser->type);
	ser->protocol = le32toh(ser->protocol);
	ser->addr_len = le16toh(ser->addr_len);
	if (ser->flags & ~SOCKET_LUO_FLAGS || ser->reserved)
		return -EOPNOTSUPP;
	if (ser->addr_len > SOCKET_LUO_ADDR_MAX)
		return -EINVAL;
	return 0;
}

static int sockopt_int(int fd, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	if (getsockopt(fd, SOL_SOCKET, opt, val, &len) < 0)
		return -errno;
	return 0;
}

/* Family, type, protocol and listening state of the socket @fd. */
static int socket_kind(int fd, struct socket_luo_ser *ser)
{
	int family, type, protocol, listening, err;

	err = sockopt_int(fd, SO_DOMAIN, &family);
	if (!err)
		err = sockopt_int(fd, SO_TYPE, &type);
	if (!err)
		err = sockopt_int(fd, SO_PROTOCOL, &protocol);
	if (!err)
		err = sockopt_int(fd, SO_ACCEPTCONN, &listening);
	if (err)
		return err;
	memset(ser, 0, sizeof(*ser));
	ser->family = (uint32_t)family;
	ser->type = (uint32_t)type;
	ser->protocol = (uint32_t)protocol;
	ser->flags = listening ? SOCKET_LUO_LISTENING : 0;
	return 0;
}

/* The state recorded of @fd: its kind and its local address. */
static int socket_capture(int fd, struct socket_luo_ser *ser)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int err;

	err = socket_kind(fd, ser);
	if (err)
		return err;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (len > SOCKET_LUO_ADDR_MAX)
		return -EOPNOTSUPP;
	memcpy(ser->addr, &ss, len);
	ser->addr_len = (uint16_t)len;
	return 0;
}

/* NULL if the socket handler takes a socket of this kind, else why not. */
static const char *kind_refusal(const struct socket_luo_ser *k)
{
	switch (k->family) {
	case AF_INET:
	case AF_INET6:
		if ((k->type == SOCK_STREAM && k->protocol == IPPROTO_TCP) ||
		    (k->type == SOCK_DGRAM && k->protocol == IPPROTO_UDP))
			return NULL;
		return "IP socket of a type or protocol other than TCP and UDP (raw, SCTP, ICMP, MPTCP, ...)";
	case AF_UNIX:
		if (k->type == SOCK_STREAM || k->type == SOCK_DGRAM ||
		    k->type == SOCK_SEQPACKET)
			return NULL;
		return "Unix socket of an unknown type";
	case AF_NETLINK:
		return "netlink socket: its subscriptions and port id belong to the process";
	case AF_PACKET:
		return "packet socket: raw link-layer access is not preserved";
	default:
		return "socket of an address family other than IPv4, IPv6 and Unix";
	}
}

/*
 * A Unix socket whose peer is this very process: in the daemon, a
 * connection to the daemon itself (a session, device or control fd).  A
 * listening Unix socket reports the process that called listen().
 */
static bool peer_is_self(int fd, const struct socket_luo_ser *k)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (k->family != AF_UNIX)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.pid == getpid();
}

static const char *socket_refusal(int fd)
{
	struct socket_luo_ser k;
	struct stat st;
	const char *why;
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH) || fstat(fd, &st) < 0 ||
	    !S_ISSOCK(st.st_mode))
		return NULL;
	if (socket_kind(fd, &k))
		return "socket whose kind cannot be read";
	why = kind_refusal(&k);
	if (why)
		return why;
	if (peer_is_self(fd, &k))
		return "Unix socket connected to liveupdated itself (a session, device or control fd)";
	return NULL;
}

/* can_preserve: a socket of a kind this handler takes. */
static bool socket_can_preserve(struct luo_file_handler *h, int fd)
{
	struct socket_luo_ser k;
	struct stat st;
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH) || fstat(fd, &st) < 0 ||
	    !S_ISSOCK(st.st_mode) || socket_kind(fd, &k))
		return false;
	return !kind_refusal(&k) && !peer_is_self(fd, &k);
}

/* refuse_reason: why a socket is not taken; NULL for other files. */
static const char *socket_refuse_reason(struct luo_file_handler *h, int fd)
{
	return socket_refusal(fd);
}

/* preserve: records kind, listening state and local address. */
static int socket_preserve(struct luo_file_op_args *args)
{
	struct socket_luo_ser ser;
	int err;

	err = socket_capture(args->fd, &ser);
	if (err)
		return err;
	socket_ser_store(args, &ser);
	args->private_data = NULL;
	return 0;
}

/*
 * freeze: records listening state and local address again: the owner may
 * have bound, connected or started listening since preserve.  @data is left
 * as it was unless everything could be read.
 */
static int socket_freeze(struct luo_file_op_args *args)
{
	struct socket_luo_ser old, ser;
	int err;

	err = socket_ser_load(args, &old);
	if (err)
		return err;
	err = socket_capture(args->fd, &ser);
	if (err)
		return err;
	if (ser.family != old.family || ser.type != old.type ||
	    ser.protocol != old.protocol)
		return -EINVAL;
	socket_ser_store(args, &ser);
	return 0;
}

/* Whether @ser records a bound address (not the unbound wildcard). */
static bool addr_bound(const struct socket_luo_ser *ser)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;

	switch (ser->family) {
	case AF_INET:
		if (ser->addr_len < sizeof(in))
			return false;
		memcpy(&in, ser->addr, sizeof(in));
		return in.sin_port != 0;
	case AF_INET6:
		if (ser->addr_len < sizeof(in6))
			return false;
		memcpy(&in6, ser->addr, sizeof(in6));
		return in6.sin6_port != 0;
	default:
		return ser->addr_len > sizeof(sa_family_t);
	}
}

/* Whether the socket @now is still the one recorded in @rec. */
static bool socket_matches(const struct socket_luo_ser *rec,
			   const struct socket_luo_ser *now)
{
	if (now->family != rec->family || now->type != rec->type ||
	    now->protocol != rec->protocol)
		return false;
	if ((rec->flags & SOCKET_LUO_LISTENING) &&
	    !(now->flags & SOCKET_LUO_LISTENING))
		return false;
	if (!addr_bound(rec))
		return true;
	return now->addr_len == rec->addr_len &&
	       !memcmp(now->addr, rec->addr, rec->addr_len);
}

/*
 * retrieve: the inherited fd must still be the recorded socket; the result
 * is another fd of that socket, O_CLOEXEC.
 */
static int socket_retrieve(struct luo_file_op_args *args)
{
	struct socket_luo_ser rec, now;
	int err;

	args->retrieved_fd = -1;
	err = socket_ser_load(args, &rec);
	if (err)
		return err;
	err = socket_capture(args->fd, &now);
	if (err)
		return err == -ENOTSOCK ? -EINVAL : err;
	if (!socket_matches(&rec, &now))
		return -EINVAL;
	return luo_handler_retrieve_same(args);
}

static const struct luo_file_handler_ops socket_ops = {
	.can_preserve = socket_can_preserve,
	.preserve = socket_preserve,
	.unpreserve = luo_handler_release_nothing,
	.freeze = socket_freeze,
	.retrieve = socket_retrieve,
	.finish = luo_handler_release_nothing,
	.get_id = luo_handler_inode_id,
	.refuse_reason = socket_refuse_reason,
};

static struct luo_file_handler socket_handler = {
	.ops = &socket_ops,
	.compatible = LUO_SOCKET_COMPATIBLE,
	.list = LIST_HEAD_INIT(socket_handler.list),
	.flb_links = LIST_HEAD_INIT(socket_handler.flb_links),
};

/**
 * luo_socket_handler() - the process's socket handler ("socket-v1")
 *
 * One static object, registrable with one core at a time.
 *
 * Return: the handler; never NULL.
 */
struct luo_file_handler *luo_socket_handler(void)
{
	return &socket_handler;
}
