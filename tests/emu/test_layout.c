/*
 * Pins the x64 layout of every public structure ndisemu's WDK headers
 * declare: size, and offset and size of each member, as the WDK documents
 * them. A driver built against these headers shares these structures with
 * NDIS (ndisemu) field by field, so one wrong offset silently scrambles what
 * a driver reads. Built twice: for NDIS 6.30 (ndisemu's default) and with
 * -DNDIS60=1, where the 6.1+ members must be absent (revision-1 sizes).
 *
 * The expected numbers are derived by hand from the documented member lists
 * under LLP64 (ULONG/LONG/enum 4 bytes, pointers/SIZE_T/ULONG64 8, natural
 * alignment), not measured. The non-obvious ones carry their reasoning:
 *  - NET_BUFFER_LIST / NET_BUFFER: the WDK aligns NdisReserved,
 *    ProtocolReserved and MiniportReserved to MEMORY_ALLOCATION_ALIGNMENT
 *    (16), so NBL.NdisReserved sits at 0x30 (not 0x28 after NdisPoolHandle
 *    at 0x20) and NB.NdisReserved at 0x40; both start with a union holding
 *    an SLIST_HEADER (16 bytes, 16-aligned).
 *  - NetBufferListInfo has MaxNetBufferListInfo slots: 11 in 6.0 (Wfp = 10
 *    is the last), 26 in 6.30 (the 6.1, 6.20 and 6.30 additions; aliases
 *    such as IPsecOffloadV2NetBufferListInfo = 1 share a slot).
 *  - NDIS_RESTART_ATTRIBUTES.Data is 16-aligned: offset 16, sizeof 32.
 */
#include <ndis.h>

#include <stdio.h>

struct row {
    const char *what;
    size_t got, want;
};

#define SIZE(T, n) {"sizeof(" #T ")", sizeof(T), (n)}
#define AT(T, m, off, sz)                                                                          \
    {#T "." #m " offset", offsetof(T, m), (off)}, {#T "." #m " size", sizeof(((T *)0)->m), (sz)}
#define VAL(e, v) {#e, (size_t)(e), (size_t)(v)}

#if NDIS_SUPPORT_NDIS630
#define V630(x, y) (x) /* the 6.30 value */
#else
#define V630(x, y) (y) /* the 6.0 value */
#endif

static const struct row rows[] = {
    /* Base types (ntdef.h). */
    SIZE(NDIS_OBJECT_HEADER, 4),
    AT(NDIS_OBJECT_HEADER, Type, 0, 1),
    AT(NDIS_OBJECT_HEADER, Revision, 1, 1),
    AT(NDIS_OBJECT_HEADER, Size, 2, 2),
    SIZE(UNICODE_STRING, 16),
    AT(UNICODE_STRING, Length, 0, 2),
    AT(UNICODE_STRING, MaximumLength, 2, 2),
    AT(UNICODE_STRING, Buffer, 8, 8),
    SIZE(GUID, 16),
    SIZE(LIST_ENTRY, 16),
    SIZE(LARGE_INTEGER, 8),
    SIZE(NET_LUID, 8),
    SIZE(SLIST_HEADER, 16),
    VAL(_Alignof(SLIST_HEADER), 16),
    SIZE(IO_STATUS_BLOCK, 16),
    AT(IO_STATUS_BLOCK, Information, 8, 8),
    SIZE(MDL, 48),
    AT(MDL, Next, 0, 8),
    AT(MDL, Size, 8, 2),
    AT(MDL, MdlFlags, 10, 2),
    AT(MDL, Process, 16, 8),
    AT(MDL, MappedSystemVa, 24, 8),
    AT(MDL, StartVa, 32, 8),
    AT(MDL, ByteCount, 40, 4),
    AT(MDL, ByteOffset, 44, 4),

    /* Filter registration. Header(4) + four UCHAR versions, Flags at 8, three
       16-byte strings from 16, then 8-byte handler pointers from 64. */
    SIZE(NDIS_FILTER_DRIVER_CHARACTERISTICS, V630(224, 200)),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, Header, 0, 4),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, MajorNdisVersion, 4, 1),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, MinorNdisVersion, 5, 1),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, MajorDriverVersion, 6, 1),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, MinorDriverVersion, 7, 1),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, Flags, 8, 4),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, FriendlyName, 16, 16),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, UniqueName, 32, 16),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, ServiceName, 48, 16),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, SetOptionsHandler, 64, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, SetFilterModuleOptionsHandler, 72, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, AttachHandler, 80, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, DetachHandler, 88, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, RestartHandler, 96, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, PauseHandler, 104, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, SendNetBufferListsHandler, 112, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, SendNetBufferListsCompleteHandler, 120, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, CancelSendNetBufferListsHandler, 128, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, ReceiveNetBufferListsHandler, 136, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, ReturnNetBufferListsHandler, 144, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, OidRequestHandler, 152, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, OidRequestCompleteHandler, 160, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, CancelOidRequestHandler, 168, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, DevicePnPEventNotifyHandler, 176, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, NetPnPEventHandler, 184, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, StatusHandler, 192, 8),
#if NDIS_SUPPORT_NDIS61
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, DirectOidRequestHandler, 200, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, DirectOidRequestCompleteHandler, 208, 8),
    AT(NDIS_FILTER_DRIVER_CHARACTERISTICS, CancelDirectOidRequestHandler, 216, 8),
    VAL(NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_2, 224),
#endif
    VAL(NDIS_SIZEOF_FILTER_DRIVER_CHARACTERISTICS_REVISION_1, 200),

    /* Flags (reserved) sits between the header and the handlers. */
    SIZE(NDIS_FILTER_PARTIAL_CHARACTERISTICS, 48),
    AT(NDIS_FILTER_PARTIAL_CHARACTERISTICS, Flags, 4, 4),
    AT(NDIS_FILTER_PARTIAL_CHARACTERISTICS, SendNetBufferListsHandler, 8, 8),
    AT(NDIS_FILTER_PARTIAL_CHARACTERISTICS, SendNetBufferListsCompleteHandler, 16, 8),
    AT(NDIS_FILTER_PARTIAL_CHARACTERISTICS, CancelSendNetBufferListsHandler, 24, 8),
    AT(NDIS_FILTER_PARTIAL_CHARACTERISTICS, ReceiveNetBufferListsHandler, 32, 8),
    AT(NDIS_FILTER_PARTIAL_CHARACTERISTICS, ReturnNetBufferListsHandler, 40, 8),
    VAL(NDIS_SIZEOF_FILTER_PARTIAL_CHARACTERISTICS_REVISION_1, 48),

    SIZE(NDIS_FILTER_ATTRIBUTES, 8),
    AT(NDIS_FILTER_ATTRIBUTES, Flags, 4, 4),

    /* Attach: CurrentMacAddress (32 bytes) runs 98..130, so BaseMiniportNetLuid
       is at 136; Flags at 160 ends revision 1 (164, sizeof 168 in 6.0). */
    SIZE(NDIS_FILTER_ATTACH_PARAMETERS, V630(224, 168)),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, IfIndex, 4, 4),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, NetLuid, 8, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, FilterModuleGuidName, 16, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, BaseMiniportIfIndex, 24, 4),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, BaseMiniportInstanceName, 32, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, BaseMiniportName, 40, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, MediaConnectState, 48, 4),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, MediaDuplexState, 52, 4),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, XmitLinkSpeed, 56, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, RcvLinkSpeed, 64, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, MiniportMediaType, 72, 4),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, MiniportPhysicalMediaType, 76, 4),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, MiniportMediaSpecificAttributes, 80, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, DefaultOffloadConfiguration, 88, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, MacAddressLength, 96, 2),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, CurrentMacAddress, 98, 32),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, BaseMiniportNetLuid, 136, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, LowerIfIndex, 144, 4),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, LowerIfNetLuid, 152, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, Flags, 160, 4),
    VAL(NDIS_SIZEOF_FILTER_ATTACH_PARAMETERS_REVISION_1, 164),
#if NDIS_SUPPORT_NDIS630
    AT(NDIS_FILTER_ATTACH_PARAMETERS, HDSplitCurrentConfig, 168, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, ReceiveFilterCapabilities, 176, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, MiniportPhysicalDeviceObject, 184, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, NicSwitchCapabilities, 192, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, BaseMiniportIfConnectorPresent, 200, 1),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, SriovCapabilities, 208, 8),
    AT(NDIS_FILTER_ATTACH_PARAMETERS, NicSwitchArray, 216, 8),
    VAL(NDIS_SIZEOF_FILTER_ATTACH_PARAMETERS_REVISION_2, 176),
    VAL(NDIS_SIZEOF_FILTER_ATTACH_PARAMETERS_REVISION_3, 200),
    VAL(NDIS_SIZEOF_FILTER_ATTACH_PARAMETERS_REVISION_4, 224),
#endif

    SIZE(NDIS_FILTER_RESTART_PARAMETERS, 48),
    AT(NDIS_FILTER_RESTART_PARAMETERS, MiniportMediaType, 4, 4),
    AT(NDIS_FILTER_RESTART_PARAMETERS, MiniportPhysicalMediaType, 8, 4),
    AT(NDIS_FILTER_RESTART_PARAMETERS, RestartAttributes, 16, 8),
    AT(NDIS_FILTER_RESTART_PARAMETERS, LowerIfIndex, 24, 4),
    AT(NDIS_FILTER_RESTART_PARAMETERS, LowerIfNetLuid, 32, 8),
    AT(NDIS_FILTER_RESTART_PARAMETERS, Flags, 40, 4),
    VAL(NDIS_SIZEOF_FILTER_RESTART_PARAMETERS_REVISION_1, 44),

    SIZE(NDIS_FILTER_PAUSE_PARAMETERS, 12),
    AT(NDIS_FILTER_PAUSE_PARAMETERS, Flags, 4, 4),
    AT(NDIS_FILTER_PAUSE_PARAMETERS, PauseReason, 8, 4),

    SIZE(NDIS_RESTART_ATTRIBUTES, 32),
    AT(NDIS_RESTART_ATTRIBUTES, Next, 0, 8),
    AT(NDIS_RESTART_ATTRIBUTES, Oid, 8, 4),
    AT(NDIS_RESTART_ATTRIBUTES, DataLength, 12, 4),
    AT(NDIS_RESTART_ATTRIBUTES, Data, 16, 1),

    /* MtuSize (4) pads to the first ULONG64 at 8; RecvScaleCapabilities at 40. */
    SIZE(NDIS_RESTART_GENERAL_ATTRIBUTES, 88),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, MtuSize, 4, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, MaxXmitLinkSpeed, 8, 8),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, MaxRcvLinkSpeed, 16, 8),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, LookaheadSize, 24, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, MacOptions, 28, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, SupportedPacketFilters, 32, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, MaxMulticastListSize, 36, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, RecvScaleCapabilities, 40, 8),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, AccessType, 48, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, Flags, 52, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, ConnectionType, 56, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, SupportedStatistics, 60, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, DataBackFillSize, 64, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, ContextBackFillSize, 68, 4),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, SupportedOidList, 72, 8),
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, SupportedOidListLength, 80, 4),
    VAL(NDIS_SIZEOF_RESTART_GENERAL_ATTRIBUTES_REVISION_1, 84),
#if NDIS_SUPPORT_NDIS620
    AT(NDIS_RESTART_GENERAL_ATTRIBUTES, MaxLookaheadSizeAccessed, 84, 4),
    VAL(NDIS_SIZEOF_RESTART_GENERAL_ATTRIBUTES_REVISION_2, 88),
#endif

    SIZE(NDIS_RECEIVE_SCALE_CAPABILITIES, V630(20, 16)),
    AT(NDIS_RECEIVE_SCALE_CAPABILITIES, NumberOfReceiveQueues, 12, 4),

    /* RequestType 4, PortNumber 8, Timeout 12, RequestId 16. DATA (a 40-byte
       union: METHOD has six ULONGs after Oid and a pointer) at 32;
       NdisReserved (16 pointers) at 72; 236 bytes used, sizeof 240. */
    SIZE(NDIS_OID_REQUEST, 240),
    AT(NDIS_OID_REQUEST, RequestType, 4, 4),
    AT(NDIS_OID_REQUEST, PortNumber, 8, 4),
    AT(NDIS_OID_REQUEST, Timeout, 12, 4),
    AT(NDIS_OID_REQUEST, RequestId, 16, 8),
    AT(NDIS_OID_REQUEST, RequestHandle, 24, 8),
    AT(NDIS_OID_REQUEST, DATA, 32, 40),
    AT(NDIS_OID_REQUEST, DATA.QUERY_INFORMATION.Oid, 32, 4),
    AT(NDIS_OID_REQUEST, DATA.QUERY_INFORMATION.InformationBuffer, 40, 8),
    AT(NDIS_OID_REQUEST, DATA.QUERY_INFORMATION.InformationBufferLength, 48, 4),
    AT(NDIS_OID_REQUEST, DATA.QUERY_INFORMATION.BytesWritten, 52, 4),
    AT(NDIS_OID_REQUEST, DATA.QUERY_INFORMATION.BytesNeeded, 56, 4),
    AT(NDIS_OID_REQUEST, DATA.SET_INFORMATION.BytesRead, 52, 4),
    AT(NDIS_OID_REQUEST, DATA.METHOD_INFORMATION.InputBufferLength, 48, 4),
    AT(NDIS_OID_REQUEST, DATA.METHOD_INFORMATION.OutputBufferLength, 52, 4),
    AT(NDIS_OID_REQUEST, DATA.METHOD_INFORMATION.MethodId, 56, 4),
    AT(NDIS_OID_REQUEST, DATA.METHOD_INFORMATION.BytesWritten, 60, 4),
    AT(NDIS_OID_REQUEST, DATA.METHOD_INFORMATION.BytesRead, 64, 4),
    AT(NDIS_OID_REQUEST, DATA.METHOD_INFORMATION.BytesNeeded, 68, 4),
    AT(NDIS_OID_REQUEST, NdisReserved, 72, 128),
    AT(NDIS_OID_REQUEST, MiniportReserved, 200, 16),
    AT(NDIS_OID_REQUEST, SourceReserved, 216, 16),
    AT(NDIS_OID_REQUEST, SupportedRevision, 232, 1),
    AT(NDIS_OID_REQUEST, Reserved1, 233, 1),
    AT(NDIS_OID_REQUEST, Reserved2, 234, 2),
    VAL(NDIS_SIZEOF_OID_REQUEST_REVISION_1, 236),

    /* GUID (align 4) right after StatusBufferSize at 56: 60..76. */
    SIZE(NDIS_STATUS_INDICATION, 112),
    AT(NDIS_STATUS_INDICATION, SourceHandle, 8, 8),
    AT(NDIS_STATUS_INDICATION, PortNumber, 16, 4),
    AT(NDIS_STATUS_INDICATION, StatusCode, 20, 4),
    AT(NDIS_STATUS_INDICATION, Flags, 24, 4),
    AT(NDIS_STATUS_INDICATION, DestinationHandle, 32, 8),
    AT(NDIS_STATUS_INDICATION, RequestId, 40, 8),
    AT(NDIS_STATUS_INDICATION, StatusBuffer, 48, 8),
    AT(NDIS_STATUS_INDICATION, StatusBufferSize, 56, 4),
    AT(NDIS_STATUS_INDICATION, Guid, 60, 16),
    AT(NDIS_STATUS_INDICATION, NdisReserved, 80, 32),

    SIZE(NDIS_LINK_STATE, 40),
    AT(NDIS_LINK_STATE, MediaConnectState, 4, 4),
    AT(NDIS_LINK_STATE, MediaDuplexState, 8, 4),
    AT(NDIS_LINK_STATE, XmitLinkSpeed, 16, 8),
    AT(NDIS_LINK_STATE, RcvLinkSpeed, 24, 8),
    AT(NDIS_LINK_STATE, PauseFunctions, 32, 4),
    AT(NDIS_LINK_STATE, AutoNegotiationFlags, 36, 4),

    /* Ports: a ULONG64 after the 4-byte connect state pads to 8. */
    SIZE(NDIS_PORT_STATE, 48),
    AT(NDIS_PORT_STATE, MediaConnectState, 4, 4),
    AT(NDIS_PORT_STATE, XmitLinkSpeed, 8, 8),
    AT(NDIS_PORT_STATE, RcvLinkSpeed, 16, 8),
    AT(NDIS_PORT_STATE, Direction, 24, 4),
    AT(NDIS_PORT_STATE, SendControlState, 28, 4),
    AT(NDIS_PORT_STATE, RcvControlState, 32, 4),
    AT(NDIS_PORT_STATE, SendAuthorizationState, 36, 4),
    AT(NDIS_PORT_STATE, RcvAuthorizationState, 40, 4),
    AT(NDIS_PORT_STATE, Flags, 44, 4),
    SIZE(NDIS_PORT_CHARACTERISTICS, 64),
    AT(NDIS_PORT_CHARACTERISTICS, PortNumber, 4, 4),
    AT(NDIS_PORT_CHARACTERISTICS, Flags, 8, 4),
    AT(NDIS_PORT_CHARACTERISTICS, Type, 12, 4),
    AT(NDIS_PORT_CHARACTERISTICS, MediaConnectState, 16, 4),
    AT(NDIS_PORT_CHARACTERISTICS, XmitLinkSpeed, 24, 8),
    AT(NDIS_PORT_CHARACTERISTICS, RcvLinkSpeed, 32, 8),
    AT(NDIS_PORT_CHARACTERISTICS, Direction, 40, 4),
    AT(NDIS_PORT_CHARACTERISTICS, RcvAuthorizationState, 56, 4),
    VAL(NDIS_SIZEOF_PORT_CHARACTERISTICS_REVISION_1, 60),
    SIZE(NDIS_PORT, 96),
    AT(NDIS_PORT, ProtocolReserved, 24, 8),
    AT(NDIS_PORT, PortCharacteristics, 32, 64),

    SIZE(NET_PNP_EVENT, 152),
    AT(NET_PNP_EVENT, NetEvent, 0, 4),
    AT(NET_PNP_EVENT, Buffer, 8, 8),
    AT(NET_PNP_EVENT, BufferLength, 16, 4),
    AT(NET_PNP_EVENT, NdisReserved, 24, 32),
    AT(NET_PNP_EVENT, TransportReserved, 56, 32),
    AT(NET_PNP_EVENT, TdiReserved, 88, 32),
    AT(NET_PNP_EVENT, TdiClientReserved, 120, 32),
    SIZE(NET_PNP_EVENT_NOTIFICATION, 160),
    AT(NET_PNP_EVENT_NOTIFICATION, PortNumber, 4, 4),
    AT(NET_PNP_EVENT_NOTIFICATION, NetPnPEvent, 8, 152),

    SIZE(NET_DEVICE_PNP_EVENT, 48),
    AT(NET_DEVICE_PNP_EVENT, PortNumber, 4, 4),
    AT(NET_DEVICE_PNP_EVENT, DevicePnPEvent, 8, 4),
    AT(NET_DEVICE_PNP_EVENT, InformationBuffer, 16, 8),
    AT(NET_DEVICE_PNP_EVENT, InformationBufferLength, 24, 4),
    AT(NET_DEVICE_PNP_EVENT, NdisReserved, 28, 16),

    SIZE(NDIS_DEVICE_OBJECT_ATTRIBUTES, 56),
    AT(NDIS_DEVICE_OBJECT_ATTRIBUTES, DeviceName, 8, 8),
    AT(NDIS_DEVICE_OBJECT_ATTRIBUTES, SymbolicName, 16, 8),
    AT(NDIS_DEVICE_OBJECT_ATTRIBUTES, MajorFunctions, 24, 8),
    AT(NDIS_DEVICE_OBJECT_ATTRIBUTES, ExtensionSize, 32, 4),
    AT(NDIS_DEVICE_OBJECT_ATTRIBUTES, DefaultSDDLString, 40, 8),
    AT(NDIS_DEVICE_OBJECT_ATTRIBUTES, DeviceClassGuid, 48, 8),

    /* See the note at the top: 16-aligned reserved areas. */
    SIZE(NET_BUFFER_LIST, V630(352, 240)),
    VAL(_Alignof(NET_BUFFER_LIST), 16),
    AT(NET_BUFFER_LIST, Next, 0, 8),
    AT(NET_BUFFER_LIST, FirstNetBuffer, 8, 8),
    AT(NET_BUFFER_LIST, Link, 0, 16),
    AT(NET_BUFFER_LIST, Context, 16, 8),
    AT(NET_BUFFER_LIST, ParentNetBufferList, 24, 8),
    AT(NET_BUFFER_LIST, NdisPoolHandle, 32, 8),
    AT(NET_BUFFER_LIST, NdisReserved, 48, 16),
    AT(NET_BUFFER_LIST, ProtocolReserved, 64, 32),
    AT(NET_BUFFER_LIST, MiniportReserved, 96, 16),
    AT(NET_BUFFER_LIST, Scratch, 112, 8),
    AT(NET_BUFFER_LIST, SourceHandle, 120, 8),
    AT(NET_BUFFER_LIST, NblFlags, 128, 4),
    AT(NET_BUFFER_LIST, ChildRefCount, 132, 4),
    AT(NET_BUFFER_LIST, Flags, 136, 4),
    AT(NET_BUFFER_LIST, Status, 140, 4),
    AT(NET_BUFFER_LIST, NetBufferListInfo, 144, V630(26, 11) * 8),
    VAL(NetBufferListCancelId, 5),
    VAL(Ieee8021QNetBufferListInfo, 4),
    VAL(WfpNetBufferListInfo, 10),
    VAL(MaxNetBufferListInfo, V630(26, 11)),
#if NDIS_SUPPORT_NDIS630
    VAL(IPsecOffloadV2NetBufferListInfo, 1),
    VAL(NetBufferListCorrelationId, 13),
    VAL(TcpRecvSegCoalesceInfo, 22),
#endif

    SIZE(NET_BUFFER, 176),
    AT(NET_BUFFER, Next, 0, 8),
    AT(NET_BUFFER, CurrentMdl, 8, 8),
    AT(NET_BUFFER, CurrentMdlOffset, 16, 4),
    AT(NET_BUFFER, DataLength, 24, 4),
    AT(NET_BUFFER, stDataLength, 24, 8),
    AT(NET_BUFFER, MdlChain, 32, 8),
    AT(NET_BUFFER, DataOffset, 40, 4),
    AT(NET_BUFFER, ChecksumBias, 48, 2),
    AT(NET_BUFFER, Reserved, 50, 2),
    AT(NET_BUFFER, NdisPoolHandle, 56, 8),
    AT(NET_BUFFER, NdisReserved, 64, 16),
    AT(NET_BUFFER, ProtocolReserved, 80, 48),
    AT(NET_BUFFER, MiniportReserved, 128, 32),
    AT(NET_BUFFER, DataPhysicalAddress, 160, 8),
#if NDIS_SUPPORT_NDIS630
    AT(NET_BUFFER, SharedMemoryInfo, 168, 8),
#endif

    SIZE(NET_BUFFER_LIST_CONTEXT, 16),
    AT(NET_BUFFER_LIST_CONTEXT, Size, 8, 2),
    AT(NET_BUFFER_LIST_CONTEXT, Offset, 10, 2),
    VAL(offsetof(NET_BUFFER_LIST_CONTEXT, ContextData), 16),

    SIZE(NET_BUFFER_LIST_POOL_PARAMETERS, 20),
    AT(NET_BUFFER_LIST_POOL_PARAMETERS, ProtocolId, 4, 1),
    AT(NET_BUFFER_LIST_POOL_PARAMETERS, fAllocateNetBuffer, 5, 1),
    AT(NET_BUFFER_LIST_POOL_PARAMETERS, ContextSize, 6, 2),
    AT(NET_BUFFER_LIST_POOL_PARAMETERS, PoolTag, 8, 4),
    AT(NET_BUFFER_LIST_POOL_PARAMETERS, DataSize, 12, 4),
    AT(NET_BUFFER_LIST_POOL_PARAMETERS, Flags, 16, 4),
    SIZE(NET_BUFFER_POOL_PARAMETERS, 12),
    AT(NET_BUFFER_POOL_PARAMETERS, PoolTag, 4, 4),
    AT(NET_BUFFER_POOL_PARAMETERS, DataSize, 8, 4),

    /* Offload: every capability sub-structure is ULONGs (bit-fields packed in
       one ULONG), so 4-aligned: Checksum 4x8 at 4, LsoV1 16 at 36, IPsecV1
       5+1+1 ULONGs at 52, LsoV2 3+4 ULONGs at 80, Flags at 108 (revision 1 =
       112); IPsecV2 (ULONG, 11 BOOLEANs, pad, 4 ULONGs = 32) at 112; Rsc (2
       BOOLEANs) at 144; the GRE task offload (2 ULONGs) at 148. */
    SIZE(NDIS_OFFLOAD, V630(156, 112)),
    AT(NDIS_OFFLOAD, Checksum, 4, 32),
    AT(NDIS_OFFLOAD, Checksum.IPv6Receive.Encapsulation, 28, 4),
    AT(NDIS_OFFLOAD, LsoV1, 36, 16),
    AT(NDIS_OFFLOAD, LsoV1.IPv4.MinSegmentCount, 44, 4),
    AT(NDIS_OFFLOAD, IPsecV1, 52, 28),
    AT(NDIS_OFFLOAD, LsoV2, 80, 28),
    AT(NDIS_OFFLOAD, LsoV2.IPv6.Encapsulation, 92, 4),
    AT(NDIS_OFFLOAD, Flags, 108, 4),
    VAL(NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1, 112),
#if NDIS_SUPPORT_NDIS630
    AT(NDIS_OFFLOAD, IPsecV2, 112, 32),
    AT(NDIS_OFFLOAD, IPsecV2.UdpEsp, 128, 4),
    AT(NDIS_OFFLOAD, IPsecV2.SaOffloadCapacity, 140, 4),
    AT(NDIS_OFFLOAD, Rsc, 144, 2),
    AT(NDIS_OFFLOAD, EncapsulatedPacketTaskOffloadGre, 148, 8),
    AT(NDIS_OFFLOAD, EncapsulatedPacketTaskOffloadGre.MaxHeaderSizeSupported, 152, 4),
    VAL(NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_2, 144),
    VAL(NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3, 156),
#endif

    /* Header, SupportedStatistics, then 18 ULONG64 counters from 8. */
    SIZE(NDIS_STATISTICS_INFO, 152),
    AT(NDIS_STATISTICS_INFO, SupportedStatistics, 4, 4),
    AT(NDIS_STATISTICS_INFO, ifInDiscards, 8, 8),
    AT(NDIS_STATISTICS_INFO, ifHCInOctets, 24, 8),
    AT(NDIS_STATISTICS_INFO, ifHCOutOctets, 56, 8),
    AT(NDIS_STATISTICS_INFO, ifOutDiscards, 96, 8),
    AT(NDIS_STATISTICS_INFO, ifHCOutBroadcastOctets, 144, 8),

    SIZE(NDIS_CONFIGURATION_OBJECT, 24),
    AT(NDIS_CONFIGURATION_OBJECT, NdisHandle, 8, 8),
    AT(NDIS_CONFIGURATION_OBJECT, Flags, 16, 4),
    SIZE(NDIS_CONFIGURATION_PARAMETER, 24),
    AT(NDIS_CONFIGURATION_PARAMETER, ParameterData, 8, 16),
    SIZE(NDIS_SPIN_LOCK, 16),
    AT(NDIS_SPIN_LOCK, OldIrql, 8, 1),

    /* Version derivation (ndis/version.h). */
    VAL(NDIS_FILTER_MAJOR_VERSION, 6),
    VAL(NDIS_FILTER_MINOR_VERSION, V630(30, 0)),
    VAL(NDIS_SUPPORT_NDIS6, 1),
    VAL(NDIS_SUPPORT_NDIS61, V630(1, 0)),
    VAL(NDIS_SUPPORT_NDIS620, V630(1, 0)),
    VAL(NDIS_SUPPORT_NDIS640, 0),

    /* Values a driver compares or writes. */
    VAL(NDIS_OBJECT_TYPE_FILTER_DRIVER_CHARACTERISTICS, 0x8B),
    VAL(NDIS_OBJECT_TYPE_FILTER_PARTIAL_CHARACTERISTICS, 0x8C),
    VAL(NDIS_OBJECT_TYPE_FILTER_ATTRIBUTES, 0x8D),
    VAL(NDIS_OBJECT_TYPE_OID_REQUEST, 0x96),
    VAL(NDIS_OBJECT_TYPE_STATUS_INDICATION, 0x98),
    VAL(NDIS_OBJECT_TYPE_FILTER_ATTACH_PARAMETERS, 0x99),
    VAL(NDIS_OBJECT_TYPE_FILTER_RESTART_PARAMETERS, 0x9B),
    VAL(NDIS_OBJECT_TYPE_RESTART_GENERAL_ATTRIBUTES, 0xA2),
    VAL(NDIS_OBJECT_TYPE_RESTART_GENERIC_ATTRIBUTES, 0xA2),
    VAL(NDIS_OBJECT_TYPE_OFFLOAD, 0xA7),
    VAL(NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT, 0xA9),
    VAL(NDIS_OBJECT_TYPE_DEVICE_OBJECT_ATTRIBUTES, 0x85),
    VAL(OID_GEN_MINIPORT_RESTART_ATTRIBUTES, 0x0001021D),
    VAL(OID_GEN_CURRENT_PACKET_FILTER, 0x0001010E),
    VAL(OID_802_3_MULTICAST_LIST, 0x01010103),
    VAL((ULONG)NDIS_STATUS_PAUSED, 0xC023002A),
    VAL((ULONG)NDIS_STATUS_INVALID_LENGTH, 0xC0010014),
    VAL((ULONG)NDIS_STATUS_BUFFER_TOO_SHORT, 0xC0010016),
    VAL((ULONG)NDIS_STATUS_NOT_SUPPORTED, 0xC00000BB),
    VAL((ULONG)NDIS_STATUS_LINK_STATE, 0x40010017),
    VAL(NDIS_PACKET_TYPE_PROMISCUOUS, 0x20),
    VAL(NdisMediumNative802_11, 16),
    VAL(NdisPhysicalMedium802_3, 14),
    VAL(MediaConnectStateDisconnected, 2),
    VAL(NetEventRestart, 9),
    VAL(NdisDevicePnPEventFilterListChanged, 6),
    SIZE(NDIS_TIMER_CHARACTERISTICS, 24),
    AT(NDIS_TIMER_CHARACTERISTICS, AllocationTag, 4, 4),
    AT(NDIS_TIMER_CHARACTERISTICS, TimerFunction, 8, 8),
    AT(NDIS_TIMER_CHARACTERISTICS, FunctionContext, 16, 8),
    VAL(NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1, 24),
    VAL(NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS, 0x97),
    SIZE(NDIS_GENERIC_OBJECT, 32),
    AT(NDIS_GENERIC_OBJECT, Caller, 8, 8),
    AT(NDIS_GENERIC_OBJECT, CallersCaller, 16, 8),
    AT(NDIS_GENERIC_OBJECT, DriverObject, 24, 8),
};

int main(void)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].got != rows[i].want) {
            fprintf(stderr, "FAIL: %s is %zu, the WDK says %zu\n", rows[i].what, rows[i].got,
                    rows[i].want);
            bad = 1;
        }
    }
    printf("%s: %zu layout facts checked (NDIS %d.%d)\n", bad ? "FAIL" : "ok",
           sizeof(rows) / sizeof(rows[0]), NDIS_FILTER_MAJOR_VERSION, NDIS_FILTER_MINOR_VERSION);
    return bad;
}
