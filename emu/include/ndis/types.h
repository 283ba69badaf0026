/*
 * NDIS 6 base types: status codes, handles, object headers, strings, memory
 * helpers. Included by <ndis.h> after <wdm.h>; never include it directly.
 *
 * Values are the WDK's where a driver could observe them (a status code a
 * driver compares, a revision it writes into a header); names are exact so
 * a WDK driver compiles unchanged.
 */
#ifndef NDISEMU_NDIS_TYPES_H
#define NDISEMU_NDIS_TYPES_H

#ifndef NDIS_SUPPORT_NDIS6
#define NDIS_SUPPORT_NDIS6 1
#endif
#ifndef NDIS_SUPPORT_NDIS61
#define NDIS_SUPPORT_NDIS61 1
#endif
#ifndef NDIS_SUPPORT_NDIS620
#define NDIS_SUPPORT_NDIS620 1
#endif

typedef int NDIS_STATUS, *PNDIS_STATUS;
typedef PVOID NDIS_HANDLE, *PNDIS_HANDLE;
typedef ULONG NDIS_OID, *PNDIS_OID;
typedef ULONG NDIS_PORT_NUMBER, *PNDIS_PORT_NUMBER;
typedef UNICODE_STRING NDIS_STRING, *PNDIS_STRING;
typedef ULONG NET_IFINDEX, *PNET_IFINDEX;
typedef USHORT NET_IFTYPE, *PNET_IFTYPE;
typedef LARGE_INTEGER NDIS_PHYSICAL_ADDRESS, *PNDIS_PHYSICAL_ADDRESS;

typedef union _NET_LUID_LH {
    ULONG64 Value;
    struct {
        ULONG64 Reserved : 24;
        ULONG64 NetLuidIndex : 24;
        ULONG64 IfType : 16;
    } Info;
} NET_LUID_LH, *PNET_LUID_LH;
typedef NET_LUID_LH NET_LUID, *PNET_LUID;

#define NDIS_DEFAULT_PORT_NUMBER ((NDIS_PORT_NUMBER)0)

#define NDIS_STRING_CONST(x)                                                                       \
    {                                                                                              \
        sizeof(L##x) - sizeof(WCHAR), sizeof(L##x), (PWSTR)L##x                                    \
    }

/* Status codes: NDIS 6 maps them onto NTSTATUS values. */
#define NDIS_STATUS_SUCCESS ((NDIS_STATUS)0x00000000L)
#define NDIS_STATUS_PENDING ((NDIS_STATUS)0x00000103L)
#define NDIS_STATUS_NOT_RECOGNIZED ((NDIS_STATUS)0x00010001L)
#define NDIS_STATUS_NOT_COPIED ((NDIS_STATUS)0x00010002L)
#define NDIS_STATUS_NOT_ACCEPTED ((NDIS_STATUS)0x00010003L)
#define NDIS_STATUS_CALL_ACTIVE ((NDIS_STATUS)0x00010007L)
#define NDIS_STATUS_INDICATION_REQUIRED ((NDIS_STATUS)0x40230001L)
#define NDIS_STATUS_MEDIA_CONNECT ((NDIS_STATUS)0x4001000BL)
#define NDIS_STATUS_MEDIA_DISCONNECT ((NDIS_STATUS)0x4001000CL)
#define NDIS_STATUS_LINK_STATE ((NDIS_STATUS)0x40010017L)
#define NDIS_STATUS_BUFFER_OVERFLOW ((NDIS_STATUS)0x80000005L)
#define NDIS_STATUS_FAILURE ((NDIS_STATUS)0xC0000001L)
#define NDIS_STATUS_INVALID_PARAMETER ((NDIS_STATUS)0xC000000DL)
#define NDIS_STATUS_BUFFER_TOO_SHORT ((NDIS_STATUS)0xC0000023L)
#define NDIS_STATUS_RESOURCES ((NDIS_STATUS)0xC000009AL)
#define NDIS_STATUS_NOT_SUPPORTED ((NDIS_STATUS)0xC00000BBL)
#define NDIS_STATUS_CLOSING ((NDIS_STATUS)0xC0230002L)
#define NDIS_STATUS_BAD_VERSION ((NDIS_STATUS)0xC0230004L)
#define NDIS_STATUS_BAD_CHARACTERISTICS ((NDIS_STATUS)0xC0230005L)
#define NDIS_STATUS_ADAPTER_NOT_FOUND ((NDIS_STATUS)0xC0230006L)
#define NDIS_STATUS_FAILED ((NDIS_STATUS)0xC0230008L)
#define NDIS_STATUS_REQUEST_ABORTED ((NDIS_STATUS)0xC023000CL)
#define NDIS_STATUS_RESET_IN_PROGRESS ((NDIS_STATUS)0xC023000DL)
#define NDIS_STATUS_INVALID_PACKET ((NDIS_STATUS)0xC023000FL)
#define NDIS_STATUS_ADAPTER_NOT_READY ((NDIS_STATUS)0xC0230011L)
#define NDIS_STATUS_INVALID_LENGTH ((NDIS_STATUS)0xC0230014L)
#define NDIS_STATUS_INVALID_DATA ((NDIS_STATUS)0xC0230015L)
#define NDIS_STATUS_INVALID_OID ((NDIS_STATUS)0xC0230017L)
#define NDIS_STATUS_FILE_NOT_FOUND ((NDIS_STATUS)0xC023001EL)
#define NDIS_STATUS_SEND_ABORTED ((NDIS_STATUS)0xC0230027L)
#define NDIS_STATUS_PAUSED ((NDIS_STATUS)0xC023002AL)
#define NDIS_STATUS_LOW_POWER_STATE ((NDIS_STATUS)0xC023002FL)
#define NDIS_STATUS_DEVICE_FAILED ((NDIS_STATUS)0xC0010008L)

#define NDIS_STATUS_OPER_STATUS ((NDIS_STATUS)0x40010023L)

/* Every NDIS 6 structure a driver hands to NDIS starts with this header. */
typedef struct _NDIS_OBJECT_HEADER {
    UCHAR Type;
    UCHAR Revision;
    USHORT Size;
} NDIS_OBJECT_HEADER, *PNDIS_OBJECT_HEADER;

#define NDIS_OBJECT_TYPE_DEFAULT 0x80
#define NDIS_OBJECT_TYPE_MINIPORT_INIT_PARAMETERS 0x81
#define NDIS_OBJECT_TYPE_SG_DMA_DESCRIPTION 0x83
#define NDIS_OBJECT_TYPE_MINIPORT_INTERRUPT 0x84
#define NDIS_OBJECT_TYPE_DEVICE_OBJECT_ATTRIBUTES 0x85
#define NDIS_OBJECT_TYPE_BIND_PARAMETERS 0x86
#define NDIS_OBJECT_TYPE_OPEN_PARAMETERS 0x87
#define NDIS_OBJECT_TYPE_RSS_CAPABILITIES 0x88
#define NDIS_OBJECT_TYPE_RSS_PARAMETERS 0x89
#define NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS 0x8A
#define NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS 0x8B
#define NDIS_OBJECT_TYPE_FILTER_PARTIAL_CHARACTERISTICS 0x8C
#define NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES 0x8D
#define NDIS_OBJECT_TYPE_CLIENT_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS 0x8E
#define NDIS_OBJECT_TYPE_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS 0x8F
#define NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS 0x90
#define NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS 0x91
#define NDIS_OBJECT_TYPE_MINIPORT_PNP_CHARACTERISTICS 0x92
#define NDIS_OBJECT_TYPE_CLIENT_CHIMNEY_OFFLOAD_CHARACTERISTICS 0x93
#define NDIS_OBJECT_TYPE_PROVIDER_CHIMNEY_OFFLOAD_CHARACTERISTICS 0x94
#define NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS 0x95
#define NDIS_OBJECT_TYPE_REQUEST_EX 0x96
#define NDIS_OBJECT_TYPE_OID_REQUEST 0x96
#define NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS 0x97
#define NDIS_OBJECT_TYPE_STATUS_INDICATION 0x98
#define NDIS_OBJECT_TYPE_FILTER_ATTACH_PARAMETERS 0x99
#define NDIS_OBJECT_TYPE_FILTER_PAUSE_PARAMETERS 0x9A
#define NDIS_OBJECT_TYPE_FILTER_RESTART_PARAMETERS 0x9B
#define NDIS_OBJECT_TYPE_PORT_CHARACTERISTICS 0x9C
#define NDIS_OBJECT_TYPE_PORT_STATE 0x9D
#define NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES 0x9E
#define NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES 0x9F
#define NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES 0xA0
#define NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_NATIVE_802_11_ATTRIBUTES 0xA1
#define NDIS_OBJECT_TYPE_RESTART_GENERAL_ATTRIBUTES 0xA2
#define NDIS_OBJECT_TYPE_PD_TRANSMIT_QUEUE 0xBE
#define NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT 0xA6
#define NDIS_OBJECT_TYPE_NET_BUFFER_LIST_POOL_PARAMETERS 0xA7
#define NDIS_OBJECT_TYPE_NET_BUFFER_POOL_PARAMETERS 0xA8

/* Size of a structure up to and including one field: what *_REVISION_n sizes are made of. */
#define RTL_SIZEOF_THROUGH_FIELD_NDIS(type, field)                                                 \
    (__builtin_offsetof(type, field) + sizeof(((type *)0)->field))

/* Memory. NdisAllocateMemoryWithTagPriority: <= DISPATCH_LEVEL, non-paged. */
#define NdisMoveMemory(Destination, Source, Length) RtlCopyMemory(Destination, Source, Length)
#define NdisZeroMemory(Destination, Length) RtlZeroMemory(Destination, Length)
#define NdisFillMemory(Destination, Length, Fill) RtlFillMemory(Destination, Length, Fill)
#define NdisEqualMemory(Source1, Source2, Length) RtlEqualMemory(Source1, Source2, Length)

PVOID NdisAllocateMemoryWithTagPriority(NDIS_HANDLE NdisHandle, UINT Length, ULONG Tag,
                                        EX_POOL_PRIORITY Priority);
VOID NdisFreeMemoryWithTagPriority(NDIS_HANDLE NdisHandle, PVOID VirtualAddress, ULONG Tag);
/* Length and MemoryFlags are ignored, as by NDIS for non-paged memory (MemoryFlags 0). */
VOID NdisFreeMemory(PVOID VirtualAddress, UINT Length, UINT MemoryFlags);

VOID NdisGetCurrentSystemTime(PLARGE_INTEGER pSystemTime);
VOID NdisMSleep(ULONG MicrosecondsToSleep);
VOID NdisStallExecution(ULONG MicrosecondsToStall);
ULONG NdisSystemProcessorCount(VOID);

#define NdisInterlockedIncrement(Addend) InterlockedIncrement(Addend)
#define NdisInterlockedDecrement(Addend) InterlockedDecrement(Addend)
#define NdisInterlockedAddUlong(Addend, Increment, SpinLock)                                       \
    ((VOID)(SpinLock), (ULONG)InterlockedExchangeAdd((LONG volatile *)(Addend), (LONG)(Increment)))
#define NdisInterlockedExchange(Target, Value) InterlockedExchange(Target, Value)
#define NdisInterlockedCompareExchange(Destination, Exchange, Comparand)                           \
    InterlockedCompareExchange(Destination, Exchange, Comparand)

#endif
