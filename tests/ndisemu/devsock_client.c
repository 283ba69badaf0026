/* A minimal client of ndisemu's device socket (devsock.h), for the CLI-level
   test: sends one request, prints the NTSTATUS and output length as
   "0xSTATUS INFO", exits 0 if a well-formed reply came back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ndisemu/devsock.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: devsock_client SOCKET IOCTL_CODE OUT_LEN\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("connect");
        return 1;
    }
    struct emu_devsock_request q = {EMU_DEVSOCK_MAGIC, (uint32_t)strtoul(argv[2], NULL, 0), 0,
                                    (uint32_t)strtoul(argv[3], NULL, 0)};
    struct emu_devsock_reply r;
    if (write(fd, &q, sizeof(q)) != (ssize_t)sizeof(q) ||
        read(fd, &r, sizeof(r)) != (ssize_t)sizeof(r) || r.magic != EMU_DEVSOCK_MAGIC) {
        fprintf(stderr, "no well-formed reply\n");
        return 1;
    }
    printf("0x%08x %u\n", (unsigned)r.status, r.information);
    close(fd);
    return 0;
}
