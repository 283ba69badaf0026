/*
 * I/O manager pieces that are not a device stack: IRP allocation and
 * completion, MDLs over non-paged memory, the default dispatch routine.
 */
#include "kernel.h"
#include "fault.h"
#include "verifier.h"

#include <stdlib.h>

PIRP NTAPI IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)
{
    PIRP irp;
    (void)ChargeQuota;
    if (StackSize < 1)
        StackSize = 1;
    irp = calloc(1, IoSizeOfIrp(StackSize));
    if (irp == NULL)
        return NULL;
    irp->Type = 6; /* IO_TYPE_IRP */
    irp->Size = IoSizeOfIrp(StackSize);
    irp->StackCount = StackSize;
    irp->CurrentLocation = (CHAR)(StackSize + 1);
    InitializeListHead(&irp->ThreadListEntry);
    /* Positioned one past the last location: the issuer fills the next
       location and IoCallDriver moves onto it. */
    irp->Tail.Overlay.CurrentStackLocation = (PIO_STACK_LOCATION)(irp + 1) + StackSize;
    return irp;
}

VOID NTAPI IoFreeIrp(PIRP Irp)
{
    free(Irp);
}

NTSTATUS FASTCALL IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sl;
    PDRIVER_DISPATCH fn;
    IoSetNextIrpStackLocation(Irp);
    sl = IoGetCurrentIrpStackLocation(Irp);
    sl->DeviceObject = DeviceObject;
    fn = DeviceObject->DriverObject->MajorFunction[sl->MajorFunction];
    return fn(DeviceObject, Irp);
}

VOID FASTCALL IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
    (void)PriorityBoost;
    emu_irql_require_max("IoCompleteRequest", DISPATCH_LEVEL);
    if (InterlockedIncrement(&Irp->EmuCompleted) != 1) {
        emu_violation(EMU_RULE_STATE, NULL, NULL, "IoCompleteRequest of IRP %p completed twice",
                      (void *)Irp);
        return;
    }
    if (Irp->IoStatus.Status == STATUS_PENDING)
        emu_violation(EMU_RULE_STATE, NULL, NULL, "IoCompleteRequest of IRP %p with STATUS_PENDING",
                      (void *)Irp);
    if (Irp->UserIosb)
        *Irp->UserIosb = Irp->IoStatus;
    if (Irp->UserEvent)
        KeSetEvent(Irp->UserEvent, IO_NO_INCREMENT, FALSE);
}

PMDL NTAPI IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer,
                         BOOLEAN ChargeQuota, PIRP Irp)
{
    if (emu_fault_should_fail("IoAllocateMdl", __builtin_return_address(0)))
        return NULL;
    PMDL mdl;
    (void)ChargeQuota;
    emu_irql_require_max("IoAllocateMdl", DISPATCH_LEVEL);
    mdl = emu_pool_alloc(sizeof(*mdl), 0x206c644d /* 'Mdl ' */, true, __builtin_return_address(0));
    if (mdl == NULL)
        return NULL;
    mdl->Size = (CSHORT)sizeof(*mdl);
    mdl->StartVa = PAGE_ALIGN(VirtualAddress);
    mdl->ByteOffset = BYTE_OFFSET(VirtualAddress);
    mdl->ByteCount = Length;
    mdl->MdlFlags = MDL_ALLOCATED_FIXED_SIZE;
    if (Irp) {
        if (SecondaryBuffer && Irp->MdlAddress) {
            PMDL m = Irp->MdlAddress;
            while (m->Next)
                m = m->Next;
            m->Next = mdl;
        } else if (!SecondaryBuffer) {
            Irp->MdlAddress = mdl;
        }
    }
    return mdl;
}

VOID NTAPI IoFreeMdl(PMDL Mdl)
{
    emu_pool_free(Mdl, 0x206c644d, __builtin_return_address(0));
}

VOID NTAPI MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)
{
    MemoryDescriptorList->MappedSystemVa =
        (PCHAR)MemoryDescriptorList->StartVa + MemoryDescriptorList->ByteOffset;
    MemoryDescriptorList->MdlFlags |= MDL_SOURCE_IS_NONPAGED_POOL;
}
