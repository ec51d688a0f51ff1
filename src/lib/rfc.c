// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The RFC-era libluo API (include/luo/liveupdate-rfc.h, libluo-rfc(7)).
 *
 * Its calls take no handle, so this is the one place libluo keeps global
 * state: the device open, the outgoing session LUO_RFC_SESSION_NAME that
 * receives every preserved fd, and the incoming session of that name once
 * retrieved.  A mutex serializes the calls.  Every fd is close-on-exec.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include <luo/libluo.h>
#include <luo/liveupdate-rfc.h>

#define LUO_EXPORT __attribute__((visibility("default")))

struct luo_rfc {
	int dev;	/* the device open, -1 before luo_init() */
	int out;	/* the outgoing session, -1 until needed */
	int in;		/* the incoming session, -1 until retrieved */
};

static pthread_mutex_t rfc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct luo_rfc rfc = { .dev = -1, .out = -1, .in = -1 };

static void rfc_close(int *fd)
{
	if (*fd >= 0)
		luo_close(*fd);
	*fd = -1;
}

static int rfc_state(enum liveupdate_state *state)
{
	struct luo_ioctl_get_state gs = { .size = sizeof(gs) };
	int ret = luo_ioctl(rfc.dev, LUO_IOCTL_GET_STATE, &gs);

	if (!ret)
		*state = (enum liveupdate_state)gs.state;
	return ret;
}

static int rfc_event(enum liveupdate_event event)
{
	struct luo_ioctl_set_event se = { .size = sizeof(se), .event = event };

	return luo_ioctl(rfc.dev, LUO_IOCTL_SET_EVENT, &se);
}

/* The outgoing session, created on first use. */
static int rfc_outgoing(void)
{
	int fd;

	if (rfc.out >= 0)
		return 0;
	fd = luo_create_session(rfc.dev, LUO_RFC_SESSION_NAME);
	if (fd < 0)
		return fd;
	rfc.out = fd;
	return 0;
}

/* The incoming session, retrieved on first use. */
static int rfc_incoming(void)
{
	int fd;

	if (rfc.in >= 0)
		return 0;
	fd = luo_retrieve_session(rfc.dev, LUO_RFC_SESSION_NAME);
	if (fd < 0)
		return fd;
	rfc.in = fd;
	return 0;
}

/**
 * luo_init() - open the orchestrator for the RFC API
 *
 * Opens the device at luo_default_socket_path().  A second call while it is
 * open changes nothing.
 *
 * Return: 0, or the -errno of luo_open() (-ENOENT: no orchestrator; -EBUSY:
 * another process holds the device).
 */
LUO_EXPORT int luo_init(void)
{
	int ret = 0, fd;

	pthread_mutex_lock(&rfc_lock);
	if (rfc.dev < 0) {
		fd = luo_open();
		if (fd < 0)
			ret = fd;
		else
			rfc.dev = fd;
	}
	pthread_mutex_unlock(&rfc_lock);
	return ret;
}

/**
 * luo_cleanup() - close what luo_init() and the later calls opened
 *
 * Closing the outgoing session unpreserves every fd preserved through this
 * API, as closing the RFC's device did.  Safe to call twice.
 */
LUO_EXPORT void luo_cleanup(void)
{
	pthread_mutex_lock(&rfc_lock);
	rfc_close(&rfc.in);
	rfc_close(&rfc.out);
	rfc_close(&rfc.dev);
	pthread_mutex_unlock(&rfc_lock);
}

/**
 * luo_is_available() - whether an orchestrator can be reached
 *
 * True after luo_init(); otherwise tries a control open (which takes no
 * exclusive hold) of the default socket and closes it.
 *
 * Return: true if an orchestrator answers.
 */
LUO_EXPORT bool luo_is_available(void)
{
	bool ok;
	int fd;

	pthread_mutex_lock(&rfc_lock);
	ok = rfc.dev >= 0;
	pthread_mutex_unlock(&rfc_lock);
	if (ok)
		return true;
	fd = luo_open_at(NULL, LUO_OPEN_CONTROL);
	if (fd < 0)
		return false;
	luo_close(fd);
	return true;
}

/**
 * luo_get_state() - the global state
 * @state: out: enum liveupdate_state
 *
 * Return: 0; -EBADF before luo_init(); -EINVAL for a NULL @state; an errno
 * of luo_ioctl().
 */
LUO_EXPORT int luo_get_state(enum liveupdate_state *state)
{
	int ret = -EBADF;

	pthread_mutex_lock(&rfc_lock);
	if (rfc.dev >= 0)
		ret = state ? rfc_state(state) : -EINVAL;
	pthread_mutex_unlock(&rfc_lock);
	return ret;
}

/**
 * luo_fd_preserve() - preserve an fd under a token
 * @fd:    the file
 * @token: unique among the fds preserved through this API
 *
 * Return: 0; -EBADF before luo_init() (or for a closed @fd); -EINVAL for a
 * negative @fd; -EEXIST for a token in use; -EBUSY in PREPARED or FROZEN,
 * or for a file preserved already; -ENOENT for a kind of file no handler
 * takes; another errno of PRESERVE_FD.
 */
LUO_EXPORT int luo_fd_preserve(int fd, uint64_t token)
{
	int ret = -EBADF;

	pthread_mutex_lock(&rfc_lock);
	if (rfc.dev >= 0) {
		ret = fd < 0 ? -EINVAL : rfc_outgoing();
		if (!ret)
			ret = luo_session_preserve_fd(rfc.out, fd, token);
	}
	pthread_mutex_unlock(&rfc_lock);
	return ret;
}

static int rfc_unpreserve(uint64_t token)
{
	struct luo_session_unpreserve_fd up = {
		.size = sizeof(up),
		.token = token,
	};
	enum liveupdate_state state;
	int ret;

	if (rfc.out >= 0)
		return luo_ioctl(rfc.out, LUO_SESSION_UNPRESERVE_FD, &up);
	/* Nothing preserved: the state decides between EBUSY and ENOENT. */
	ret = rfc_state(&state);
	if (ret)
		return ret;
	return state == LIVEUPDATE_STATE_NORMAL ? -ENOENT : -EBUSY;
}

/**
 * luo_fd_unpreserve() - drop one preserved fd
 * @token: its token
 *
 * Return: 0; -EBADF before luo_init(); -EBUSY unless the state is NORMAL;
 * -ENOENT for an unknown token.
 */
LUO_EXPORT int luo_fd_unpreserve(uint64_t token)
{
	int ret = -EBADF;

	pthread_mutex_lock(&rfc_lock);
	if (rfc.dev >= 0)
		ret = rfc_unpreserve(token);
	pthread_mutex_unlock(&rfc_lock);
	return ret;
}

/**
 * luo_fd_restore() - after an update, a new fd for a token
 * @token: the token it was preserved under
 * @fd:    out: the new fd, close-on-exec, owned by the caller
 *
 * Asking again for the same token gives another fd of the same file.
 *
 * Return: 0; -EBADF before luo_init(); -EINVAL for a NULL @fd; -ENOENT if
 * nothing was handed over under this token (or after luo_finish()); the
 * errno of a failed retrieval, again at every call.
 */
LUO_EXPORT int luo_fd_restore(uint64_t token, int *fd)
{
	int ret = -EBADF;

	pthread_mutex_lock(&rfc_lock);
	if (rfc.dev >= 0) {
		ret = fd ? rfc_incoming() : -EINVAL;
		if (!ret)
			ret = luo_session_retrieve_fd(rfc.in, token);
		if (ret >= 0) {
			*fd = ret;
			ret = 0;
		}
	}
	pthread_mutex_unlock(&rfc_lock);
	return ret;
}

/**
 * luo_prepare() - NORMAL to PREPARED
 *
 * Creates the outgoing session first if nothing was preserved yet, so that
 * the reboot hands over a session and the new image starts in UPDATED.
 *
 * Return: 0; -EBADF before luo_init(); -EINVAL if the state is not NORMAL.
 */
LUO_EXPORT int luo_prepare(void)
{
	int ret = -EBADF;

	pthread_mutex_lock(&rfc_lock);
	if (rfc.dev >= 0) {
		ret = rfc_outgoing();
		/* Sealed already: SET_EVENT says why (EINVAL). */
		if (!ret || ret == -EBUSY)
			ret = rfc_event(LIVEUPDATE_PREPARE);
	}
	pthread_mutex_unlock(&rfc_lock);
	return ret;
}

/**
 * luo_cancel() - PREPARED (or FROZEN) to NORMAL; every token stays valid
 *
 * Return: 0; -EBADF before luo_init(); -EINVAL from any other state.
 */
LUO_EXPORT int luo_cancel(void)
{
	int ret = -EBADF;

	pthread_mutex_lock(&rfc_lock);
	if (rfc.dev >= 0)
		ret = rfc_event(LIVEUPDATE_CANCEL);
	pthread_mutex_unlock(&rfc_lock);
	return ret;
}

/**
 * luo_finish() - UPDATED to NORMAL
 *
 * Finishes every incoming session of the previous image: what was not
 * restored is discarded; restored fds stay valid.
 *
 * Return: 0; -EBADF before luo_init(); -EINVAL from any state but UPDATED;
 * -EBUSY if a handler refused (nothing changed).
 */
LUO_EXPORT int luo_finish(void)
{
	int ret = -EBADF;

	pthread_mutex_lock(&rfc_lock);
	if (rfc.dev >= 0)
		ret = rfc_event(LIVEUPDATE_FINISH);
	if (!ret)
		rfc_close(&rfc.in);
	pthread_mutex_unlock(&rfc_lock);
	return ret;
}

/**
 * luo_state_to_string() - the name of a state
 * @state: enum liveupdate_state
 *
 * Return: "undefined", "normal", "prepared", "frozen", "updated", or
 * "unknown" for any other value; a static string.
 */
LUO_EXPORT const char *luo_state_to_string(enum liveupdate_state state)
{
	switch (state) {
	case LIVEUPDATE_STATE_UNDEFINED:
		return "undefined";
	case LIVEUPDATE_STATE_NORMAL:
		return "normal";
	case LIVEUPDATE_STATE_PREPARED:
		return "prepared";
	case LIVEUPDATE_STATE_FROZEN:
		return "frozen";
	case LIVEUPDATE_STATE_UPDATED:
		return "updated";
	}
	return "unknown";
}
