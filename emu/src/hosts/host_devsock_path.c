/*
 * Where the device socket lives by default, shared by ndisemu
 * (--device-socket default) and lwfctl (no --device), so both name the same
 * path: DIR/ndisemu-hotlwf.sock, DIR the first of
 *
 *   $XDG_RUNTIME_DIR                  set by the login manager, the user's own
 *   /run/user/UID                     when it exists
 *   /tmp/ndisemu-UID                  the fallback; ndisemu creates it 0700
 *
 * Whichever it is, DIR must be a real directory (not a symbolic link) owned
 * by the caller's effective uid with no write permission for group or
 * others: then no other user can have put a socket there, nor replace one.
 * A world-writable directory such as /tmp itself would let any local user
 * squat the path first and receive the rules lwfctl sends. lwfctl also
 * checks the server's SO_PEERCRED uid before it sends (transport_unix.c),
 * which covers a path given with --device or $NDISEMU_DEVICE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ndisemu/devsock.h>

static bool private_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory (a symbolic link is refused)", dir);
        return false;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s is owned by uid %u, not by you (uid %u)", dir,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        return false;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, errlen, "%s is writable by others (mode %03o): anyone could replace the socket",
                 dir, (unsigned)(st.st_mode & 0777));
        return false;
    }
    return true;
}

bool emu_devsock_default_path(bool create, char *path, size_t len, char *err, size_t errlen)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char dir[256];
    struct stat st;

    if (xdg != NULL && xdg[0] != '\0') {
        if (xdg[0] != '/') {
            snprintf(err, errlen, "XDG_RUNTIME_DIR '%s' is not an absolute path", xdg);
            return false;
        }
        if ((size_t)snprintf(dir, sizeof(dir), "%s", xdg) >= sizeof(dir)) {
            snprintf(err, errlen, "XDG_RUNTIME_DIR is longer than %zu bytes", sizeof(dir) - 1);
            return false;
        }
    } else {
        snprintf(dir, sizeof(dir), "/run/user/%u", (unsigned)geteuid());
        if (lstat(dir, &st) != 0)
            snprintf(dir, sizeof(dir), "/tmp/ndisemu-%u", (unsigned)geteuid());
        if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
            return false;
        }
    }
    if (!private_dir(dir, err, errlen))
        return false;
    if ((size_t)snprintf(path, len, "%s/%s", dir, EMU_DEVSOCK_DEFAULT_NAME) >= len) {
        snprintf(err, errlen, "%s/%s: path too long for a Unix socket", dir,
                 EMU_DEVSOCK_DEFAULT_NAME);
        return false;
    }
    return true;
}
