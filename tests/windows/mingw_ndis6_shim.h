/*
 * The NDIS 6 kernel names mingw-w64 lacks, for the compile check only.
 *
 * mingw-w64's ddk/ndis.h stops at NDIS 5 and its ddk/wdm.h predates
 * Windows 10 2004, so this declares, with the signatures of the WDK
 * reference (learn.microsoft.com/windows-hardware/drivers/ddi/ndis), only
 * what a filter driver needs and neither ntddk.h nor ntddndis.h provides.
 * Every name is guarded by what mingw would define, so that a newer mingw
 * that grows one wins and the duplicate shows up as a redefinition.
 *
 * The point is independence: this file was written from the reference, not
 * from emu/include, so a driver that compiles against it and against
 * ndisemu uses only names and signatures both agree on. Structures list
 * their NDIS 6.0 members (the driver registers as NDIS 6.0); types the
 * driver never dereferences are left incomplete, so touching one fails.
 */
#ifndef HOTLWF_TESTS_WINDOWS_MINGW_NDIS6_SHIM_H
#define HOTLWF_TESTS_WINDOWS_MINGW_NDIS6_SHIM_H

/* ---- wdm.h names newer than mingw's (Windows 10 2004 WDK) ---- */

#ifndef _Frees_ptr_
#define _Frees_ptr_
#endif
#ifndef _Frees_ptr_opt_
#define _Frees_ptr_opt_
#endif

typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_UNINITIALIZED 0x0000000000000002ULL
#define POOL_FLAG_NON_PAGED 0x0000000000000040ULL
#define POOL_FLAG_PAGED 0x0000000000000100ULL

/* Zeroes the block unless POOL_FLAG_UNINITIALIZED; NULL on failure. */
NTKERNELAPI PVOID NTAPI ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag);

#ifndef MdlMappingNoExecute
#define MdlMappingNoExecute 0x40000000
#endif

/*
 * The WDK's ReadXxx/WriteXxx family. The prototypes are what matters here
 * (argument types are checked); the bodies only have to compile, and an
 * x64 aligned volatile access plus a compiler barrier has the documented
 * ordering there (TSO).
 */
FORCEINLINE LONG ReadNoFence(LONG const volatile *Source)
{
    return *Source;
}
FORCEINLINE VOID WriteNoFence(LONG volatile *Destination, LONG Value)
{
    *Destination = Value;
}
FORCEINLINE LONG64 ReadNoFence64(LONG64 const volatile *Source)
{
    return *Source;
}
FORCEINLINE VOID WriteNoFence64(LONG64 volatile *Destination, LONG64 Value)
{
    *Destination = Value;
}
FORCEINLINE LONG ReadAcquire(LONG const volatile *Source)
{
    LONG Value = *Source;
    __asm__ __volatile__("" ::: "memory");
    return Value;
}
FORCEINLINE VOID WriteRelease(LONG volatile *Destination, LONG Value)
{
    __asm__ __volatile__("" ::: "memory");
    *Destination = Value;
}
FORCEINLINE LONG64 ReadAcquire64(LONG64 const volatile *Source)
{
    LONG64 Value = *Source;
    __asm__ __volatile__("" ::: "memory");
    return Value;
}
FORCEINLINE VOID WriteRelease64(LONG64 volatile *Destination, LONG64 Value)
{
    __asm__ __volatile__("" ::: "memory");
    *Destination = Value;
}
FORCEINLINE PVOID ReadPointerAcquire(PVOID const volatile *Source)
{
    PVOID Value = *Source;
    __asm__ __volatile__("" ::: "memory");
    return Value;
}
FORCEINLINE VOID WritePointerRelease(PVOID volatile *Destination, PVOID Value)
{
    __asm__ __volatile__("" ::: "memory");
    *Destination = Value;
}
FORCEINLINE PVOID ReadPointerNoFence(PVOID const volatile *Source)
{
    return *Source;
}
FORCEINLINE VOID WritePointerNoFence(PVOID volatile *Destination, PVOID Value)
{
    *Destination = Value;
}

/* ---- ndis.h: basic types and status codes ---- */

typedef unsigned int UINT, *PUINT;

typedef PVOID NDIS_HANDLE, *PNDIS_HANDLE;
typedef UNICODE_STRING NDIS_STRING, *PNDIS_STRING;
typedef PHYSICAL_ADDRESS NDIS_PHYSICAL_ADDRESS, *PNDIS_PHYSICAL_ADDRESS;

#define NdisZeroMemory(Destination, Length) RtlZeroMemory(Destination, Length)
#define NdisMoveMemory(Destination, Source, Length) RtlCopyMemory(Destination, Source, Length)

#ifndef NDIS_STATUS_SUCCESS
#define NDIS_STATUS_SUCCESS ((NDIS_STATUS)STATUS_SUCCESS)
#define NDIS_STATUS_PENDING ((NDIS_STATUS)STATUS_PENDING)
#define NDIS_STATUS_FAILURE ((NDIS_STATUS)STATUS_UNSUCCESSFUL)
#define NDIS_STATUS_RESOURCES ((NDIS_STATUS)STATUS_INSUFFICIENT_RESOURCES)
#define NDIS_STATUS_INVALID_PARAMETER ((NDIS_STATUS)STATUS_INVALID_PARAMETER)
#define NDIS_STATUS_NOT_SUPPORTED ((NDIS_STATUS)STATUS_NOT_SUPPORTED)
#define NDIS_STATUS_BUFFER_TOO_SHORT ((NDIS_STATUS)STATUS_BUFFER_TOO_SMALL)
#define NDIS_STATUS_INVALID_LENGTH ((NDIS_STATUS)STATUS_INVALID_BUFFER_SIZE)
#define NDIS_STATUS_PAUSED ((NDIS_STATUS)STATUS_NDIS_PAUSED)
#define NDIS_STATUS_REQUEST_ABORTED ((NDIS_STATUS)STATUS_NDIS_REQUEST_ABORTED)
#endif

/* ---- NET_BUFFER and NET_BUFFER_LIST ---- */

typedef struct _NET_BUFFER NET_BUFFER, *PNET_BUFFER;
typedef struct _NET_BUFFER_LIST NET_BUFFER_LIST, *PNET_BUFFER_LIST;
typedef struct _NET_BUFFER_LIST_CONTEXT NET_BUFFER_LIST_CONTEXT, *PNET_BUFFER_LIST_CONTEXT;
typedef struct _NET_BUFFER_SHARED_MEMORY NET_BUFFER_SHARED_MEMORY, *PNET_BUFFER_SHARED_MEMORY;

typedef struct _NET_BUFFER_DATA {
    PNET_BUFFER Next;
    PMDL CurrentMdl;
    ULONG CurrentMdlOffset;
    union {
        ULONG DataLength;
        SIZE_T stDataLength;
    };
    PMDL MdlChain;
    ULONG DataOffset;
} NET_BUFFER_DATA, *PNET_BUFFER_DATA;

typedef union _NET_BUFFER_HEADER {
    NET_BUFFER_DATA NetBufferData;
    SLIST_HEADER Link;
} NET_BUFFER_HEADER, *PNET_BUFFER_HEADER;

struct _NET_BUFFER {
    union {
        struct {
            PNET_BUFFER Next;
            PMDL CurrentMdl;
            ULONG CurrentMdlOffset;
            union {
                ULONG DataLength;
                SIZE_T stDataLength;
            };
            PMDL MdlChain;
            ULONG DataOffset;
        };
        SLIST_HEADER Link;
        NET_BUFFER_HEADER NetBufferHeader;
    };
    USHORT ChecksumBias;
    USHORT Reserved;
    NDIS_HANDLE NdisPoolHandle;
    PVOID NdisReserved[2];
    PVOID ProtocolReserved[6];
    PVOID MiniportReserved[4];
    NDIS_PHYSICAL_ADDRESS DataPhysicalAddress;
    union {
        PNET_BUFFER_SHARED_MEMORY SharedMemoryInfo;
        PSCATTER_GATHER_LIST ScatterGatherList;
    };
};

typedef enum _NDIS_NET_BUFFER_LIST_INFO {
    TcpIpChecksumNetBufferListInfo,
    TcpOffloadBytesTransferred = TcpIpChecksumNetBufferListInfo,
    IPsecOffloadV1NetBufferListInfo,
    TcpLargeSendNetBufferListInfo,
    TcpReceiveNoPush = TcpLargeSendNetBufferListInfo,
    ClassificationHandleNetBufferListInfo,
    Ieee8021QNetBufferListInfo,
    NetBufferListCancelId,
    MediaSpecificInformation,
    NetBufferListFrameType,
    NetBufferListProtocolId = NetBufferListFrameType,
    NetBufferListHashValue,
    NetBufferListHashInfo,
    WfpNetBufferListInfo,
    MaxNetBufferListInfo
} NDIS_NET_BUFFER_LIST_INFO,
    *PNDIS_NET_BUFFER_LIST_INFO;

typedef struct _NET_BUFFER_LIST_DATA {
    PNET_BUFFER_LIST Next;
    PNET_BUFFER FirstNetBuffer;
} NET_BUFFER_LIST_DATA, *PNET_BUFFER_LIST_DATA;

typedef union _NET_BUFFER_LIST_HEADER {
    NET_BUFFER_LIST_DATA NetBufferListData;
    SLIST_HEADER Link;
} NET_BUFFER_LIST_HEADER, *PNET_BUFFER_LIST_HEADER;

struct _NET_BUFFER_LIST {
    union {
        struct {
            PNET_BUFFER_LIST Next;
            PNET_BUFFER FirstNetBuffer;
        };
        SLIST_HEADER Link;
        NET_BUFFER_LIST_HEADER NetBufferListHeader;
    };
    PNET_BUFFER_LIST_CONTEXT Context;
    PNET_BUFFER_LIST ParentNetBufferList;
    NDIS_HANDLE NdisPoolHandle;
    PVOID NdisReserved[2];
    PVOID ProtocolReserved[4];
    PVOID MiniportReserved[2];
    PVOID Scratch;
    NDIS_HANDLE SourceHandle;
    ULONG NblFlags;
    LONG ChildRefCount;
    ULONG Flags;
    NDIS_STATUS Status;
    PVOID NetBufferListInfo[MaxNetBufferListInfo];
};

#define NET_BUFFER_NEXT_NB(_NB) ((_NB)->Next)
#define NET_BUFFER_FIRST_MDL(_NB) ((_NB)->MdlChain)
#define NET_BUFFER_DATA_LENGTH(_NB) ((_NB)->DataLength)
#define NET_BUFFER_DATA_OFFSET(_NB) ((_NB)->DataOffset)
#define NET_BUFFER_CURRENT_MDL(_NB) ((_NB)->CurrentMdl)
#define NET_BUFFER_CURRENT_MDL_OFFSET(_NB) ((_NB)->CurrentMdlOffset)
#define NET_BUFFER_LIST_NEXT_NBL(_NBL) ((_NBL)->Next)
#define NET_BUFFER_LIST_FIRST_NB(_NBL) ((_NBL)->FirstNetBuffer)
#define NET_BUFFER_LIST_FLAGS(_NBL) ((_NBL)->Flags)
#define NET_BUFFER_LIST_STATUS(_NBL) ((_NBL)->Status)
#define NET_BUFFER_LIST_INFO(_NBL, _Id) ((_NBL)->NetBufferListInfo[(_Id)])

/* Datapath flags (the IRQL hints and the cannot-pend contract). */
#define NDIS_SEND_FLAGS_DISPATCH_LEVEL 0x00000001
#define NDIS_SEND_FLAGS_CHECK_FOR_LOOPBACK 0x00000002
#define NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL 0x00000001
#define NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL 0x00000001
#define NDIS_RECEIVE_FLAGS_RESOURCES 0x00000002
#define NDIS_RETURN_FLAGS_DISPATCH_LEVEL 0x00000001
#define NDIS_TEST_SEND_AT_DISPATCH_LEVEL(_Flags) (!!((_Flags)&NDIS_SEND_FLAGS_DISPATCH_LEVEL))
#define NDIS_TEST_SEND_COMPLETE_AT_DISPATCH_LEVEL(_Flags)                                          \
    (!!((_Flags)&NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL))
#define NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(_Flags) (!!((_Flags)&NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL))
#define NDIS_TEST_RECEIVE_CANNOT_PEND(_Flags) (!!((_Flags)&NDIS_RECEIVE_FLAGS_RESOURCES))
#define NDIS_TEST_RETURN_AT_DISPATCH_LEVEL(_Flags) (!!((_Flags)&NDIS_RETURN_FLAGS_DISPATCH_LEVEL))

/* ---- OID requests ---- */

#define NDIS_OID_REQUEST_REVISION_1 1
#define NDIS_OID_REQUEST_NDIS_RESERVED_SIZE 16

typedef struct _NDIS_OID_REQUEST {
    NDIS_OBJECT_HEADER Header;
    NDIS_REQUEST_TYPE RequestType;
    NDIS_PORT_NUMBER PortNumber;
    UINT Timeout;
    PVOID RequestId;
    NDIS_HANDLE RequestHandle;
    union _REQUEST_DATA {
        struct _QUERY {
            NDIS_OID Oid;
            PVOID InformationBuffer;
            UINT InformationBufferLength;
            UINT BytesWritten;
            UINT BytesNeeded;
        } QUERY_INFORMATION;
        struct _SET {
            NDIS_OID Oid;
            PVOID InformationBuffer;
            UINT InformationBufferLength;
            UINT BytesRead;
            UINT BytesNeeded;
        } SET_INFORMATION;
        struct _METHOD {
            NDIS_OID Oid;
            PVOID InformationBuffer;
            ULONG InputBufferLength;
            ULONG OutputBufferLength;
            ULONG MethodId;
            UINT BytesWritten;
            UINT BytesRead;
            UINT BytesNeeded;
        } METHOD_INFORMATION;
    } DATA;
    UCHAR NdisReserved[NDIS_OID_REQUEST_NDIS_RESERVED_SIZE * sizeof(PVOID)];
    UCHAR MiniportReserved[2 * sizeof(PVOID)];
    UCHAR SourceReserved[2 * sizeof(PVOID)];
    UCHAR SupportedRevision;
    UCHAR Reserved1;
    USHORT Reserved2;
} NDIS_OID_REQUEST, *PNDIS_OID_REQUEST;

/* ---- filter driver: parameters NDIS passes in ---- */

typedef struct _NDIS_RESTART_ATTRIBUTES NDIS_RESTART_ATTRIBUTES, *PNDIS_RESTART_ATTRIBUTES;
typedef struct _NET_PNP_EVENT_NOTIFICATION NET_PNP_EVENT_NOTIFICATION, *PNET_PNP_EVENT_NOTIFICATION;
typedef struct _NET_DEVICE_PNP_EVENT NET_DEVICE_PNP_EVENT, *PNET_DEVICE_PNP_EVENT;
typedef struct _NDIS_STATUS_INDICATION NDIS_STATUS_INDICATION, *PNDIS_STATUS_INDICATION;

typedef struct _NDIS_FILTER_ATTACH_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    NET_IFINDEX IfIndex;
    NET_LUID NetLuid;
    PNDIS_STRING FilterModuleGuidName;
    NET_IFINDEX BaseMiniportIfIndex;
    PNDIS_STRING BaseMiniportInstanceName;
    PNDIS_STRING BaseMiniportName;
    NDIS_MEDIA_CONNECT_STATE MediaConnectState;
    NET_IF_MEDIA_DUPLEX_STATE MediaDuplexState;
    ULONG64 XmitLinkSpeed;
    ULONG64 RcvLinkSpeed;
    NDIS_MEDIUM MiniportMediaType;
    NDIS_PHYSICAL_MEDIUM MiniportPhysicalMediaType;
    NDIS_HANDLE MiniportMediaSpecificAttributes;
    PNDIS_OFFLOAD DefaultOffloadConfiguration;
    USHORT MacAddressLength;
    UCHAR CurrentMacAddress[NDIS_MAX_PHYS_ADDRESS_LENGTH];
    NET_LUID BaseMiniportNetLuid;
    NET_IFINDEX LowerIfIndex;
    NET_LUID LowerIfNetLuid;
    ULONG Flags;
} NDIS_FILTER_ATTACH_PARAMETERS, *PNDIS_FILTER_ATTACH_PARAMETERS;

typedef struct _NDIS_FILTER_PAUSE_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    ULONG Flags;
    ULONG PauseReason;
} NDIS_FILTER_PAUSE_PARAMETERS, *PNDIS_FILTER_PAUSE_PARAMETERS;

typedef struct _NDIS_FILTER_RESTART_PARAMETERS {
    NDIS_OBJECT_HEADER Header;
    NDIS_MEDIUM MiniportMediaType;
    NDIS_PHYSICAL_MEDIUM MiniportPhysicalMediaType;
    PNDIS_RESTART_ATTRIBUTES RestartAttributes;
    NET_IFINDEX LowerIfIndex;
    NET_LUID LowerIfNetLuid;
    ULONG Flags;
} NDIS_FILTER_RESTART_PARAMETERS, *PNDIS_FILTER_RESTART_PARAMETERS;

#define NDIS_FILTER_ATTRIBUTES_REVISION_1 1
typedef struct _NDIS_FILTER_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    ULONG Flags;
} NDIS_FILTER_ATTRIBUTES, *PNDIS_FILTER_ATTRIBUTES;
#define NDIS_SIZEOF_FILTER_ATTRIBUTES_REVISION_1                                                   \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_FILTER_ATTRIBUTES, Flags)

/* ---- filter driver: the role types (FILTER_ATTACH MyAttach;) ---- */

typedef NDIS_STATUS(FILTER_SET_OPTIONS)(NDIS_HANDLE NdisFilterDriverHandle,
                                        NDIS_HANDLE FilterDriverContext);
typedef FILTER_SET_OPTIONS(*SET_OPTIONS_HANDLER);
typedef NDIS_STATUS(FILTER_SET_MODULE_OPTIONS)(NDIS_HANDLE FilterModuleContext);
typedef FILTER_SET_MODULE_OPTIONS(*FILTER_SET_FILTER_MODULE_OPTIONS_HANDLER);
typedef NDIS_STATUS(FILTER_ATTACH)(NDIS_HANDLE NdisFilterHandle, NDIS_HANDLE FilterDriverContext,
                                   PNDIS_FILTER_ATTACH_PARAMETERS AttachParameters);
typedef FILTER_ATTACH(*FILTER_ATTACH_HANDLER);
typedef VOID(FILTER_DETACH)(NDIS_HANDLE FilterModuleContext);
typedef FILTER_DETACH(*FILTER_DETACH_HANDLER);
typedef NDIS_STATUS(FILTER_RESTART)(NDIS_HANDLE FilterModuleContext,
                                    PNDIS_FILTER_RESTART_PARAMETERS RestartParameters);
typedef FILTER_RESTART(*FILTER_RESTART_HANDLER);
typedef NDIS_STATUS(FILTER_PAUSE)(NDIS_HANDLE FilterModuleContext,
                                  PNDIS_FILTER_PAUSE_PARAMETERS PauseParameters);
typedef FILTER_PAUSE(*FILTER_PAUSE_HANDLER);
typedef VOID(FILTER_SEND_NET_BUFFER_LISTS)(NDIS_HANDLE FilterModuleContext,
                                           PNET_BUFFER_LIST NetBufferList,
                                           NDIS_PORT_NUMBER PortNumber, ULONG SendFlags);
typedef FILTER_SEND_NET_BUFFER_LISTS(*FILTER_SEND_NET_BUFFER_LISTS_HANDLER);
typedef VOID(FILTER_SEND_NET_BUFFER_LISTS_COMPLETE)(NDIS_HANDLE FilterModuleContext,
                                                    PNET_BUFFER_LIST NetBufferList,
                                                    ULONG SendCompleteFlags);
typedef FILTER_SEND_NET_BUFFER_LISTS_COMPLETE(*FILTER_SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER);
typedef VOID(FILTER_CANCEL_SEND_NET_BUFFER_LISTS)(NDIS_HANDLE FilterModuleContext, PVOID CancelId);
typedef FILTER_CANCEL_SEND_NET_BUFFER_LISTS(*FILTER_CANCEL_SEND_HANDLER);
typedef VOID(FILTER_RECEIVE_NET_BUFFER_LISTS)(NDIS_HANDLE FilterModuleContext,
                                              PNET_BUFFER_LIST NetBufferLists,
                                              NDIS_PORT_NUMBER PortNumber,
                                              ULONG NumberOfNetBufferLists, ULONG ReceiveFlags);
typedef FILTER_RECEIVE_NET_BUFFER_LISTS(*FILTER_RECEIVE_NET_BUFFER_LISTS_HANDLER);
typedef VOID(FILTER_RETURN_NET_BUFFER_LISTS)(NDIS_HANDLE FilterModuleContext,
                                             PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags);
typedef FILTER_RETURN_NET_BUFFER_LISTS(*FILTER_RETURN_NET_BUFFER_LISTS_HANDLER);
typedef NDIS_STATUS(FILTER_OID_REQUEST)(NDIS_HANDLE FilterModuleContext,
                                        PNDIS_OID_REQUEST OidRequest);
typedef FILTER_OID_REQUEST(*FILTER_OID_REQUEST_HANDLER);
typedef VOID(FILTER_OID_REQUEST_COMPLETE)(NDIS_HANDLE FilterModuleContext,
                                          PNDIS_OID_REQUEST OidRequest, NDIS_STATUS Status);
typedef FILTER_OID_REQUEST_COMPLETE(*FILTER_OID_REQUEST_COMPLETE_HANDLER);
typedef VOID(FILTER_CANCEL_OID_REQUEST)(NDIS_HANDLE FilterModuleContext, PVOID RequestId);
typedef FILTER_CANCEL_OID_REQUEST(*FILTER_CANCEL_OID_REQUEST_HANDLER);
typedef VOID(FILTER_DEVICE_PNP_EVENT_NOTIFY)(NDIS_HANDLE FilterModuleContext,
                                             PNET_DEVICE_PNP_EVENT NetDevicePnPEvent);
typedef FILTER_DEVICE_PNP_EVENT_NOTIFY(*FILTER_DEVICE_PNP_EVENT_NOTIFY_HANDLER);
typedef NDIS_STATUS(FILTER_NET_PNP_EVENT)(NDIS_HANDLE FilterModuleContext,
                                          PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification);
typedef FILTER_NET_PNP_EVENT(*FILTER_NET_PNP_EVENT_HANDLER);
typedef VOID(FILTER_STATUS)(NDIS_HANDLE FilterModuleContext,
                            PNDIS_STATUS_INDICATION StatusIndication);
typedef FILTER_STATUS(*FILTER_STATUS_HANDLER);

/* ---- filter driver: characteristics ---- */

#define NDIS_FILTER_CHARACTERISTICS_REVISION_1 1
#define NDIS_FILTER_DRIVER_MANDATORY 0x00000001

typedef struct _NDIS_FILTER_DRIVER_CHARACTERISTICS {
    NDIS_OBJECT_HEADER Header;
    UCHAR MajorNdisVersion;
    UCHAR MinorNdisVersion;
    UCHAR MajorDriverVersion;
    UCHAR MinorDriverVersion;
    ULONG Flags;
    NDIS_STRING FriendlyName;
    NDIS_STRING UniqueName;
    NDIS_STRING ServiceName;
    SET_OPTIONS_HANDLER SetOptionsHandler;
    FILTER_SET_FILTER_MODULE_OPTIONS_HANDLER SetFilterModuleOptionsHandler;
    FILTER_ATTACH_HANDLER AttachHandler;
    FILTER_DETACH_HANDLER DetachHandler;
    FILTER_RESTART_HANDLER RestartHandler;
    FILTER_PAUSE_HANDLER PauseHandler;
    FILTER_SEND_NET_BUFFER_LISTS_HANDLER SendNetBufferListsHandler;
    FILTER_SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER SendNetBufferListsCompleteHandler;
    FILTER_CANCEL_SEND_HANDLER CancelSendNetBufferListsHandler;
    FILTER_RECEIVE_NET_BUFFER_LISTS_HANDLER ReceiveNetBufferListsHandler;
    FILTER_RETURN_NET_BUFFER_LISTS_HANDLER ReturnNetBufferListsHandler;
    FILTER_OID_REQUEST_HANDLER OidRequestHandler;
    FILTER_OID_REQUEST_COMPLETE_HANDLER OidRequestCompleteHandler;
    FILTER_CANCEL_OID_REQUEST_HANDLER CancelOidRequestHandler;
    FILTER_DEVICE_PNP_EVENT_NOTIFY_HANDLER DevicePnPEventNotifyHandler;
    FILTER_NET_PNP_EVENT_HANDLER NetPnPEventHandler;
    FILTER_STATUS_HANDLER StatusHandler;
} NDIS_FILTER_DRIVER_CHARACTERISTICS, *PNDIS_FILTER_DRIVER_CHARACTERISTICS;
#define NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1                                       \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_FILTER_DRIVER_CHARACTERISTICS, StatusHandler)

#define NDIS_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1 1
typedef struct _NDIS_FILTER_PARTIAL_CHARACTERISTICS {
    NDIS_OBJECT_HEADER Header;
    ULONG Flags;
    FILTER_SEND_NET_BUFFER_LISTS_HANDLER SendNetBufferListsHandler;
    FILTER_SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER SendNetBufferListsCompleteHandler;
    FILTER_CANCEL_SEND_HANDLER CancelSendNetBufferListsHandler;
    FILTER_RECEIVE_NET_BUFFER_LISTS_HANDLER ReceiveNetBufferListsHandler;
    FILTER_RETURN_NET_BUFFER_LISTS_HANDLER ReturnNetBufferListsHandler;
} NDIS_FILTER_PARTIAL_CHARACTERISTICS, *PNDIS_FILTER_PARTIAL_CHARACTERISTICS;
#define NDIS_SIZEOF_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1                                      \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_FILTER_PARTIAL_CHARACTERISTICS, ReturnNetBufferListsHandler)

typedef struct _NDIS_DRIVER_OPTIONAL_HANDLERS {
    NDIS_OBJECT_HEADER Header;
} NDIS_DRIVER_OPTIONAL_HANDLERS, *PNDIS_DRIVER_OPTIONAL_HANDLERS;

/* ---- control device ---- */

#define NDIS_DEVICE_OBJECT_ATTRIBUTES_REVISION_1 1
typedef struct _NDIS_DEVICE_OBJECT_ATTRIBUTES {
    NDIS_OBJECT_HEADER Header;
    PNDIS_STRING DeviceName;
    PNDIS_STRING SymbolicName;
    PDRIVER_DISPATCH *MajorFunctions;
    ULONG ExtensionSize;
    PCUNICODE_STRING DefaultSDDLString;
    LPCGUID DeviceClassGuid;
} NDIS_DEVICE_OBJECT_ATTRIBUTES, *PNDIS_DEVICE_OBJECT_ATTRIBUTES;
#define NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1                                            \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_DEVICE_OBJECT_ATTRIBUTES, DeviceClassGuid)

/* ---- configuration ---- */

#define NDIS_CONFIGURATION_OBJECT_REVISION_1 1
#define NDIS_CONFIG_FLAG_FILTER_INSTANCE_CONFIGURATION 0x00000001
typedef struct _NDIS_CONFIGURATION_OBJECT {
    NDIS_OBJECT_HEADER Header;
    NDIS_HANDLE NdisHandle;
    ULONG Flags;
} NDIS_CONFIGURATION_OBJECT, *PNDIS_CONFIGURATION_OBJECT;
#define NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1                                                \
    RTL_SIZEOF_THROUGH_FIELD(NDIS_CONFIGURATION_OBJECT, Flags)

typedef enum _NDIS_PARAMETER_TYPE {
    NdisParameterInteger,
    NdisParameterHexInteger,
    NdisParameterString,
    NdisParameterMultiString,
    NdisParameterBinary
} NDIS_PARAMETER_TYPE,
    *PNDIS_PARAMETER_TYPE;

typedef struct {
    USHORT Length;
    PVOID Buffer;
} BINARY_DATA;

typedef struct _NDIS_CONFIGURATION_PARAMETER {
    NDIS_PARAMETER_TYPE ParameterType;
    union {
        ULONG IntegerData;
        NDIS_STRING StringData;
        BINARY_DATA BinaryData;
    } ParameterData;
} NDIS_CONFIGURATION_PARAMETER, *PNDIS_CONFIGURATION_PARAMETER;

/* ---- NDIS RW lock ---- */

typedef struct _NDIS_RW_LOCK_EX NDIS_RW_LOCK_EX, *PNDIS_RW_LOCK_EX;
typedef struct _LOCK_STATE_EX {
    KIRQL OldIrql;
    UCHAR LockState;
    UCHAR Flags;
} LOCK_STATE_EX, *PLOCK_STATE_EX;
#define NDIS_RWL_AT_DISPATCH_LEVEL 1

/* ---- NDIS I/O work items ---- */

typedef VOID(NDIS_IO_WORKITEM_FUNCTION)(PVOID WorkItemContext, NDIS_HANDLE NdisIoWorkItemHandle);
typedef NDIS_IO_WORKITEM_FUNCTION *NDIS_IO_WORKITEM_ROUTINE;

/* ---- functions (ndis.lib) ---- */

#ifndef NDISAPI
#define NDISAPI DECLSPEC_IMPORT
#endif

NDISAPI NDIS_STATUS
NdisFRegisterFilterDriver(PDRIVER_OBJECT DriverObject, NDIS_HANDLE FilterDriverContext,
                          PNDIS_FILTER_DRIVER_CHARACTERISTICS FilterDriverCharacteristics,
                          PNDIS_HANDLE NdisFilterDriverHandle);
NDISAPI VOID NdisFDeregisterFilterDriver(NDIS_HANDLE NdisFilterDriverHandle);
NDISAPI NDIS_STATUS NdisFSetAttributes(NDIS_HANDLE NdisFilterHandle,
                                       NDIS_HANDLE FilterModuleContext,
                                       PNDIS_FILTER_ATTRIBUTES FilterAttributes);
NDISAPI NDIS_STATUS NdisFRestartFilter(NDIS_HANDLE NdisFilterHandle);
NDISAPI VOID NdisFSendNetBufferLists(NDIS_HANDLE NdisFilterHandle, PNET_BUFFER_LIST NetBufferList,
                                     NDIS_PORT_NUMBER PortNumber, ULONG SendFlags);
NDISAPI VOID NdisFSendNetBufferListsComplete(NDIS_HANDLE NdisFilterHandle,
                                             PNET_BUFFER_LIST NetBufferList,
                                             ULONG SendCompleteFlags);
NDISAPI VOID NdisFIndicateReceiveNetBufferLists(NDIS_HANDLE NdisFilterHandle,
                                                PNET_BUFFER_LIST NetBufferLists,
                                                NDIS_PORT_NUMBER PortNumber,
                                                ULONG NumberOfNetBufferLists, ULONG ReceiveFlags);
NDISAPI VOID NdisFReturnNetBufferLists(NDIS_HANDLE NdisFilterHandle,
                                       PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags);
NDISAPI NDIS_STATUS NdisFOidRequest(NDIS_HANDLE NdisFilterHandle, PNDIS_OID_REQUEST OidRequest);
NDISAPI VOID NdisFOidRequestComplete(NDIS_HANDLE NdisFilterHandle, PNDIS_OID_REQUEST OidRequest,
                                     NDIS_STATUS Status);
NDISAPI NDIS_STATUS NdisAllocateCloneOidRequest(NDIS_HANDLE SourceHandle,
                                                PNDIS_OID_REQUEST OidRequest, UINT PoolTag,
                                                PNDIS_OID_REQUEST *ClonedOidRequest);
NDISAPI VOID NdisFreeCloneOidRequest(NDIS_HANDLE SourceHandle, PNDIS_OID_REQUEST Request);
NDISAPI NDIS_STATUS NdisSetOptionalHandlers(NDIS_HANDLE NdisHandle,
                                            PNDIS_DRIVER_OPTIONAL_HANDLERS OptionalHandlers);
NDISAPI NDIS_STATUS NdisRegisterDeviceEx(NDIS_HANDLE NdisHandle,
                                         PNDIS_DEVICE_OBJECT_ATTRIBUTES DeviceObjectAttributes,
                                         PDEVICE_OBJECT *pDeviceObject,
                                         PNDIS_HANDLE NdisDeviceHandle);
NDISAPI VOID NdisDeregisterDeviceEx(NDIS_HANDLE NdisDeviceHandle);
NDISAPI NDIS_STATUS NdisOpenConfigurationEx(PNDIS_CONFIGURATION_OBJECT ConfigObject,
                                            PNDIS_HANDLE ConfigurationHandle);
NDISAPI VOID NdisReadConfiguration(PNDIS_STATUS Status,
                                   PNDIS_CONFIGURATION_PARAMETER *ParameterValue,
                                   NDIS_HANDLE ConfigurationHandle, PNDIS_STRING Keyword,
                                   NDIS_PARAMETER_TYPE ParameterType);
NDISAPI VOID NdisWriteConfiguration(PNDIS_STATUS Status, NDIS_HANDLE ConfigurationHandle,
                                    PNDIS_STRING Keyword,
                                    PNDIS_CONFIGURATION_PARAMETER ParameterValue);
NDISAPI VOID NdisCloseConfiguration(NDIS_HANDLE ConfigurationHandle);
NDISAPI PNDIS_RW_LOCK_EX NdisAllocateRWLock(NDIS_HANDLE NdisHandle);
NDISAPI VOID NdisFreeRWLock(PNDIS_RW_LOCK_EX Lock);
NDISAPI VOID NdisAcquireRWLockRead(PNDIS_RW_LOCK_EX Lock, PLOCK_STATE_EX LockState, UCHAR Flags);
NDISAPI VOID NdisAcquireRWLockWrite(PNDIS_RW_LOCK_EX Lock, PLOCK_STATE_EX LockState, UCHAR Flags);
NDISAPI VOID NdisReleaseRWLock(PNDIS_RW_LOCK_EX Lock, PLOCK_STATE_EX LockState);
NDISAPI PVOID NdisGetDataBuffer(PNET_BUFFER NetBuffer, ULONG BytesNeeded, PVOID Storage,
                                UINT AlignMultiple, UINT AlignOffset);
NDISAPI NDIS_HANDLE NdisAllocateIoWorkItem(NDIS_HANDLE NdisObjectHandle);
NDISAPI VOID NdisQueueIoWorkItem(NDIS_HANDLE NdisIoWorkItemHandle, NDIS_IO_WORKITEM_ROUTINE Routine,
                                 PVOID WorkItemContext);
NDISAPI VOID NdisFreeIoWorkItem(NDIS_HANDLE NdisIoWorkItemHandle);

#endif
