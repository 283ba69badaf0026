/*
 * maclist's control interface (\\.\maclist): the whole global state of the
 * filter is one MACLIST_SETTINGS, replaced by an IOCTL while traffic runs.
 * Shared by the driver and whoever configures it.
 */
#ifndef MACLIST_H
#define MACLIST_H

#define MACLIST_VERSION 1
#define MACLIST_MAX_ADDRESSES 64

/* Frames whose source (receive) / destination (send) is not listed are dropped. */
#define MACLIST_FLAG_DROP_UNKNOWN_RX 0x1
#define MACLIST_FLAG_DROP_UNKNOWN_TX 0x2
#define MACLIST_FLAGS_ALL 0x3

typedef struct _MACLIST_SETTINGS {
    ULONG Version; /* MACLIST_VERSION */
    ULONG Flags;   /* MACLIST_FLAG_* */
    ULONG Count;   /* entries of Addresses in use */
    UCHAR Addresses[MACLIST_MAX_ADDRESSES][6];
} MACLIST_SETTINGS, *PMACLIST_SETTINGS;

/*
 * In: MACLIST_SETTINGS. Out: ULONG64, the generation now running.
 * SET returns once no processor filters with the previous settings;
 * SET_NOWAIT returns at once and the previous settings are freed later.
 */
#define IOCTL_MACLIST_SET CTL_CODE(FILE_DEVICE_NETWORK, 0x900, METHOD_BUFFERED, FILE_WRITE_ACCESS)
#define IOCTL_MACLIST_SET_NOWAIT                                                                   \
    CTL_CODE(FILE_DEVICE_NETWORK, 0x901, METHOD_BUFFERED, FILE_WRITE_ACCESS)

#endif
