/*
 * Run-time library: counted strings, debug print, asserts, bug checks.
 */
#include "kernel.h"
#include "verifier.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTL_TAG 0x206c7452 /* 'Rtl ' */

/* "D:P(A;;GA;;;SY)(A;;GA;;;BA)" and friends, as UTF-16 constants. */
#define W16(s) ((PWCH)(u"" s))
const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL_ADM_ALL = {sizeof(u"D:P(A;;GA;;;SY)(A;;GA;;;BA)") - 2,
                                                    sizeof(u"D:P(A;;GA;;;SY)(A;;GA;;;BA)"),
                                                    W16("D:P(A;;GA;;;SY)(A;;GA;;;BA)")};
const UNICODE_STRING SDDL_DEVOBJ_SYS_ALL = {sizeof(u"D:P(A;;GA;;;SY)") - 2,
                                            sizeof(u"D:P(A;;GA;;;SY)"), W16("D:P(A;;GA;;;SY)")};
const UNICODE_STRING SDDL_DEVOBJ_KERNEL_ONLY = {sizeof(u"D:P") - 2, sizeof(u"D:P"), W16("D:P")};

SIZE_T NTAPI RtlCompareMemory(const VOID *Source1, const VOID *Source2, SIZE_T Length)
{
    const UCHAR *a = Source1, *b = Source2;
    SIZE_T i;
    for (i = 0; i < Length && a[i] == b[i]; i++)
        ;
    return i;
}

static size_t wlen(PCWSTR s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    size_t n = SourceString ? wlen(SourceString) * sizeof(WCHAR) : 0;
    if (n > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR))
        n = UNICODE_STRING_MAX_BYTES - sizeof(WCHAR);
    DestinationString->Buffer = (PWCH)SourceString;
    DestinationString->Length = (USHORT)n;
    DestinationString->MaximumLength = (USHORT)(SourceString ? n + sizeof(WCHAR) : 0);
}

NTSTATUS NTAPI RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString)
{
    if (SourceString && wlen(SourceString) * sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES - 2)
        return STATUS_NAME_TOO_LONG;
    RtlInitUnicodeString(DestinationString, SourceString);
    return STATUS_SUCCESS;
}

VOID NTAPI RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString)
{
    size_t n = SourceString ? strlen(SourceString) : 0;
    if (n > 0xfffe)
        n = 0xfffe;
    DestinationString->Buffer = (PCHAR)SourceString;
    DestinationString->Length = (USHORT)n;
    DestinationString->MaximumLength = (USHORT)(SourceString ? n + 1 : 0);
}

VOID NTAPI RtlInitString(PSTRING DestinationString, PCSZ SourceString)
{
    RtlInitAnsiString(DestinationString, SourceString);
}

WCHAR NTAPI RtlUpcaseUnicodeChar(WCHAR SourceCharacter)
{
    if (SourceCharacter >= 'a' && SourceCharacter <= 'z')
        return (WCHAR)(SourceCharacter - 'a' + 'A');
    return SourceCharacter;
}

LONG NTAPI RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                   BOOLEAN CaseInSensitive)
{
    size_t n1 = String1->Length / sizeof(WCHAR), n2 = String2->Length / sizeof(WCHAR);
    size_t i, n = n1 < n2 ? n1 : n2;
    for (i = 0; i < n; i++) {
        WCHAR a = String1->Buffer[i], b = String2->Buffer[i];
        if (CaseInSensitive) {
            a = RtlUpcaseUnicodeChar(a);
            b = RtlUpcaseUnicodeChar(b);
        }
        if (a != b)
            return (LONG)a - (LONG)b;
    }
    return (LONG)n1 - (LONG)n2;
}

BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2,
                                    BOOLEAN CaseInSensitive)
{
    return String1->Length == String2->Length &&
           RtlCompareUnicodeString(String1, String2, CaseInSensitive) == 0;
}

VOID NTAPI RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString)
{
    USHORT n;
    if (SourceString == NULL) {
        DestinationString->Length = 0;
        return;
    }
    n = SourceString->Length < DestinationString->MaximumLength ? SourceString->Length
                                                                : DestinationString->MaximumLength;
    memmove(DestinationString->Buffer, SourceString->Buffer, n);
    DestinationString->Length = n;
    if (n + sizeof(WCHAR) <= DestinationString->MaximumLength)
        DestinationString->Buffer[n / sizeof(WCHAR)] = 0;
}

NTSTATUS NTAPI RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source)
{
    USHORT n = Source->Length;
    if ((size_t)Destination->Length + n > Destination->MaximumLength)
        return STATUS_BUFFER_TOO_SMALL;
    memmove((PCHAR)Destination->Buffer + Destination->Length, Source->Buffer, n);
    Destination->Length = (USHORT)(Destination->Length + n);
    if ((size_t)Destination->Length + sizeof(WCHAR) <= Destination->MaximumLength)
        Destination->Buffer[Destination->Length / sizeof(WCHAR)] = 0;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source)
{
    UNICODE_STRING s;
    if (Source == NULL)
        return STATUS_SUCCESS;
    RtlInitUnicodeString(&s, Source);
    return RtlAppendUnicodeStringToString(Destination, &s);
}

/* The "ANSI" code page is 7-bit here: anything else becomes '?', as an
   unmappable character does on Windows. */
NTSTATUS NTAPI RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString,
                                            PCUNICODE_STRING SourceString,
                                            BOOLEAN AllocateDestinationString)
{
    size_t n = SourceString->Length / sizeof(WCHAR), i;
    if (AllocateDestinationString) {
        DestinationString->Buffer =
            emu_pool_alloc(n + 1, RTL_TAG, false, __builtin_return_address(0));
        if (DestinationString->Buffer == NULL)
            return STATUS_NO_MEMORY;
        DestinationString->MaximumLength = (USHORT)(n + 1);
    } else if (n > DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    for (i = 0; i < n; i++) {
        WCHAR c = SourceString->Buffer[i];
        DestinationString->Buffer[i] = c < 0x80 ? (CHAR)c : '?';
    }
    DestinationString->Length = (USHORT)n;
    if (n < DestinationString->MaximumLength)
        DestinationString->Buffer[n] = 0;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString,
                                            PCANSI_STRING SourceString,
                                            BOOLEAN AllocateDestinationString)
{
    size_t n = SourceString->Length, i;
    if (n * sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR))
        return STATUS_INVALID_PARAMETER_2;
    if (AllocateDestinationString) {
        DestinationString->Buffer =
            emu_pool_alloc((n + 1) * sizeof(WCHAR), RTL_TAG, false, __builtin_return_address(0));
        if (DestinationString->Buffer == NULL)
            return STATUS_NO_MEMORY;
        DestinationString->MaximumLength = (USHORT)((n + 1) * sizeof(WCHAR));
    } else if (n * sizeof(WCHAR) > DestinationString->MaximumLength) {
        return STATUS_BUFFER_OVERFLOW;
    }
    for (i = 0; i < n; i++)
        DestinationString->Buffer[i] = (WCHAR)(UCHAR)SourceString->Buffer[i];
    DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
    if (DestinationString->Length + sizeof(WCHAR) <= DestinationString->MaximumLength)
        DestinationString->Buffer[n] = 0;
    return STATUS_SUCCESS;
}

VOID NTAPI RtlFreeUnicodeString(PUNICODE_STRING UnicodeString)
{
    if (UnicodeString->Buffer)
        emu_pool_free(UnicodeString->Buffer, RTL_TAG, __builtin_return_address(0));
    UnicodeString->Buffer = NULL;
    UnicodeString->Length = UnicodeString->MaximumLength = 0;
}

VOID NTAPI RtlFreeAnsiString(PANSI_STRING AnsiString)
{
    if (AnsiString->Buffer)
        emu_pool_free(AnsiString->Buffer, RTL_TAG, __builtin_return_address(0));
    AnsiString->Buffer = NULL;
    AnsiString->Length = AnsiString->MaximumLength = 0;
}

NTSTATUS NTAPI RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value)
{
    size_t n = String->Length / sizeof(WCHAR), i = 0;
    ULONG v = 0;
    bool neg = false;
    while (i < n && (String->Buffer[i] == ' ' || String->Buffer[i] == '\t'))
        i++;
    if (i < n && (String->Buffer[i] == '-' || String->Buffer[i] == '+'))
        neg = String->Buffer[i++] == '-';
    if (Base == 0) {
        Base = 10;
        if (i + 1 < n && String->Buffer[i] == '0') {
            WCHAR p = String->Buffer[i + 1];
            if (p == 'x' || p == 'X' || p == 'o' || p == 'O' || p == 'b' || p == 'B') {
                Base = (p == 'x' || p == 'X') ? 16 : (p == 'o' || p == 'O') ? 8 : 2;
                i += 2;
            }
        }
    } else if (Base != 2 && Base != 8 && Base != 10 && Base != 16) {
        return STATUS_INVALID_PARAMETER;
    }
    for (; i < n; i++) {
        WCHAR c = String->Buffer[i];
        ULONG d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            break;
        if (d >= Base)
            break;
        v = v * Base + d;
    }
    *Value = neg ? (ULONG)(-(LONG)v) : v;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String)
{
    char buf[40];
    size_t n, i;
    if (Base == 0)
        Base = 10;
    if (Base == 16)
        n = (size_t)snprintf(buf, sizeof(buf), "%X", Value);
    else if (Base == 8)
        n = (size_t)snprintf(buf, sizeof(buf), "%o", Value);
    else if (Base == 10)
        n = (size_t)snprintf(buf, sizeof(buf), "%u", Value);
    else if (Base == 2) {
        char tmp[33];
        size_t k = 0;
        do {
            tmp[k++] = (char)('0' + (Value & 1));
            Value >>= 1;
        } while (Value);
        for (n = 0; n < k; n++)
            buf[n] = tmp[k - 1 - n];
        buf[n] = 0;
    } else
        return STATUS_INVALID_PARAMETER;
    if ((n + 1) * sizeof(WCHAR) > String->MaximumLength)
        return STATUS_BUFFER_OVERFLOW;
    for (i = 0; i <= n; i++)
        String->Buffer[i] = (WCHAR)buf[i];
    String->Length = (USHORT)(n * sizeof(WCHAR));
    return STATUS_SUCCESS;
}

DECLSPEC_NORETURN VOID NTAPI RtlAssert(PVOID VoidFailedAssertion, PVOID VoidFileName,
                                       ULONG LineNumber, PSTR MutableMessage)
{
    const struct emu_callctx *c = emu_callctx_current();
    fprintf(stderr, "ndisemu: ASSERTION FAILED in %s (%s): %s%s%s at %s:%u\n", c ? c->module : "?",
            c && c->callback ? c->callback : "?", (const char *)VoidFailedAssertion,
            MutableMessage ? " - " : "", MutableMessage ? MutableMessage : "",
            (const char *)VoidFileName, LineNumber);
    emu_violations_print(stderr, false);
    abort();
}

DECLSPEC_NORETURN VOID NTAPI KeBugCheckEx(ULONG BugCheckCode, ULONG_PTR BugCheckParameter1,
                                          ULONG_PTR BugCheckParameter2,
                                          ULONG_PTR BugCheckParameter3,
                                          ULONG_PTR BugCheckParameter4)
{
    const struct emu_callctx *c = emu_callctx_current();
    fprintf(stderr, "ndisemu: BUGCHECK 0x%08X (0x%lx, 0x%lx, 0x%lx, 0x%lx) in %s (%s)\n",
            BugCheckCode, (unsigned long)BugCheckParameter1, (unsigned long)BugCheckParameter2,
            (unsigned long)BugCheckParameter3, (unsigned long)BugCheckParameter4,
            c ? c->module : "?", c && c->callback ? c->callback : "?");
    emu_violations_print(stderr, false);
    abort();
}

DECLSPEC_NORETURN VOID NTAPI KeBugCheck(ULONG BugCheckCode)
{
    KeBugCheckEx(BugCheckCode, 0, 0, 0, 0);
}
