#!/bin/sh
# ndisemu-cc builds an out-of-tree driver from a temporary directory, written
# the WDK way (role typedefs, multi-character pool tag, L"" strings), and
# ndisemu loads and unloads it cleanly.
set -u
cc="$1" ndisemu="$2" lib="$3"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/tiny.c" <<'C'
#include <ndis.h>

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD TinyUnload;
static PVOID TinyMemory;
static const UNICODE_STRING TinyName = RTL_CONSTANT_STRING(L"tiny");

VOID TinyUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    ExFreePoolWithTag(TinyMemory, 'ynyT');
}

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNREFERENCED_PARAMETER(RegistryPath);
    TinyMemory = ExAllocatePoolWithTag(NonPagedPoolNx, TinyName.Length, 'ynyT');
    if (TinyMemory == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(TinyMemory, TinyName.Buffer, TinyName.Length);
    DriverObject->DriverUnload = TinyUnload;
    return STATUS_SUCCESS;
}
C
fail=0
"$cc" --help | grep -q "usage: ndisemu-cc" || { echo "FAIL: --help" >&2; fail=1; }
"$cc" "$dir/tiny.c" >/dev/null 2>&1 && { echo "FAIL: accepted no -o" >&2; fail=1; }
(cd "$dir" && "$cc" -Werror -o tiny.so tiny.c -DTINY=1) || { echo "FAIL: ndisemu-cc" >&2; fail=1; }
[ -f "$dir/tiny.so" ] || { echo "FAIL: no tiny.so" >&2; exit 1; }
nm -D --defined-only "$dir/tiny.so" | grep -q ' DriverEntry$' || { echo "FAIL: DriverEntry not exported" >&2; fail=1; }
sh "$(dirname "$0")/import_check.sh" "$lib" "$dir/tiny.so" || fail=1
"$ndisemu" --driver "$dir/tiny.so" --stack "" --seconds 0.2 --quiet || { echo "FAIL: ndisemu run" >&2; fail=1; }
[ $fail -eq 0 ] && echo "ndisemu_cc: ok"
exit $fail
