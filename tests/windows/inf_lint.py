#!/usr/bin/env python3
"""Consistency check of driver/windows/hotlwf.inf without Windows.

Not a replacement for InfVerif (run that on Windows: docs/windows.md); it
checks what InfVerif cannot know: that the INF agrees with the driver
source (NetCfgInstanceId == the UniqueName the driver registers, the
service name == its ServiceName, the default Strategy is one the driver
knows), plus the structure a filter INF needs: every section it names
exists, every %string% is defined, the Version and Ndi keys are present.
"""
import os
import re
import sys

NET_SERVICE_GUID = "{4D36E974-E325-11CE-BFC1-08002BE10318}"


def parse(path):
    sections, order, cur = {}, [], None
    with open(path, encoding="utf-8-sig") as f:
        for raw in f:
            line = raw.split(";", 1)[0].strip() if '"' not in raw else strip_comment(raw)
            if not line:
                continue
            m = re.fullmatch(r"\[([^\]]+)\]", line)
            if m:
                cur = m.group(1).strip().lower()
                sections.setdefault(cur, [])
                order.append(cur)
                continue
            if cur is None:
                raise SystemExit(f"{path}: entry outside any section: {line}")
            sections[cur].append(line)
    return sections


def strip_comment(raw):
    out, quoted = [], False
    for ch in raw:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            break
        out.append(ch)
    return "".join(out).strip()


def keyvals(lines):
    kv = {}
    for line in lines:
        if "=" in line:
            k, v = line.split("=", 1)
            kv[k.strip().lower()] = v.strip()
    return kv


def fields(line):
    return [x.strip() for x in line.split(",")]


def main():
    inf = sys.argv[1]
    root = os.path.abspath(os.path.join(os.path.dirname(inf), "..", ".."))
    s = parse(inf)
    errors = []

    def need(cond, msg):
        if not cond:
            errors.append(msg)

    def need_section(name, why):
        need(name.lower() in s, f"section [{name}] ({why}) is missing")

    ver = keyvals(s.get("version", []))
    need(ver.get("signature", "").strip('"').lower() == "$windows nt$", "Version: Signature")
    need(ver.get("class", "").lower() == "netservice", "Version: Class must be NetService")
    need(ver.get("classguid", "").upper() == NET_SERVICE_GUID, "Version: ClassGuid of NetService")
    for k in ("provider", "driverver", "catalogfile"):
        need(k in ver, f"Version: {k} missing")
    need(ver.get("pnplockdown") == "1", "Version: PnpLockdown=1")

    strings = keyvals(s.get("strings", []))
    for sec, lines in s.items():
        for line in lines:
            for ref in re.findall(r"%([A-Za-z_][A-Za-z0-9_]*)%", line):
                need(ref.lower() in strings, f"[{sec}]: %{ref}% not in [Strings]")

    installs = []
    for line in s.get("manufacturer", []):
        parts = fields(line.split("=", 1)[1])
        for deco in parts[1:] or [""]:
            model = parts[0] + ("." + deco if deco else "")
            need_section(model, "models")
            for m in s.get(model.lower(), []):
                f = fields(m.split("=", 1)[1])
                installs.append(f[0])
                need(len(f) > 1 and f[1], f"[{model}]: no component id")
    need(installs, "no install section reachable from [Manufacturer]")

    uniq = re.search(r'UniqueName\s*=\s*RTL_CONSTANT_STRING\(L"([^"]+)"\)',
                     open(os.path.join(root, "driver", "bind.c")).read())
    svc = re.search(r'#define\s+HL_SERVICE_NAME\s+L"([^"]+)"',
                    open(os.path.join(root, "driver", "driver.h")).read())
    names = set()
    for fn in os.listdir(os.path.join(root, "driver")):
        if fn.endswith(".c"):
            names.update(re.findall(r'\.Name\s*=\s*L"([^"]+)"',
                                    open(os.path.join(root, "driver", fn)).read()))

    for inst in set(installs):
        need_section(inst, "DDInstall")
        kv = keyvals(s.get(inst.lower(), []))
        ch = int(kv.get("characteristics", "0"), 0)
        need(ch & 0x40000, f"[{inst}]: Characteristics lacks NCF_LW_FILTER (0x40000)")
        need(not ch & 0x400, f"[{inst}]: Characteristics must not set NCF_FILTER (0x400)")
        guid = kv.get("netcfginstanceid", "").strip('"')
        need(uniq and guid.lower() == uniq.group(1).lower(),
             f"[{inst}]: NetCfgInstanceId {guid} != driver UniqueName "
             f"{uniq.group(1) if uniq else '?'}")
        for key in ("addreg", "copyfiles"):
            for ref in fields(kv.get(key, "")):
                need(bool(ref), f"[{inst}]: {key} empty")
                need_section(ref, key)
        ndi = {}
        for ref in fields(kv.get("addreg", "")):
            for line in s.get(ref.lower(), []):
                f = fields(line)
                if len(f) >= 5 and f[0].upper() == "HKR":
                    ndi[(f[1].lower(), f[2].lower())] = f[4].strip('"')
        need(ndi.get(("ndi", "service")) == (svc.group(1) if svc else None),
             "Ndi Service != driver HL_SERVICE_NAME")
        need(ndi.get(("ndi", "filtertype")) in ("1", "2"), "Ndi FilterType must be 1 or 2")
        need(ndi.get(("ndi", "filterruntype")) in ("1", "2"), "Ndi FilterRunType must be 1 or 2")
        need(("ndi", "filterclass") in ndi, "Ndi FilterClass missing")
        need(("ndi\\interfaces", "filtermediatypes") in ndi, "Ndi\\Interfaces FilterMediaTypes")
        need(ndi.get(("ndi\\interfaces", "upperrange")) == "noupper", "UpperRange noupper")
        need(ndi.get(("ndi\\interfaces", "lowerrange")) == "nolower", "LowerRange nolower")

        svc_kv = keyvals(s.get(inst.lower() + ".services", []))
        need_section(inst + ".Services", "service install")
        f = fields(svc_kv.get("addservice", ""))
        need(svc and f[0] == svc.group(1), "AddService name != driver HL_SERVICE_NAME")
        if len(f) >= 3:
            need_section(f[2], "service-install")
            sk = keyvals(s.get(f[2].lower(), []))
            need(sk.get("servicetype") == "1", "ServiceType must be 1 (kernel driver)")
            need(sk.get("servicebinary", "").lower().endswith("\\hotlwf.sys"), "ServiceBinary")
            strategy = None
            for ref in fields(sk.get("addreg", "")):
                need_section(ref, "service AddReg")
                for line in s.get(ref.lower(), []):
                    g = fields(line)
                    if len(g) >= 5 and g[1].lower() == "parameters" and g[2].lower() == "strategy":
                        strategy = g[4].strip('"')
                        need((int(g[3] or "0", 0) & 0xFFFF0001) == 0, "Strategy must be REG_SZ")
            need(strategy in names,
                 f"Parameters\\Strategy default {strategy!r} is not a driver strategy "
                 f"({', '.join(sorted(names))})")

    dest = keyvals(s.get("destinationdirs", []))
    for inst in set(installs):
        for ref in fields(keyvals(s.get(inst.lower(), [])).get("copyfiles", "")):
            need(ref.lower() in dest or "defaultdestdir" in dest, f"DestinationDirs lacks {ref}")
            for line in s.get(ref.lower(), []):
                fn = fields(line)[0]
                need(fn.lower() in keyvals(s.get("sourcedisksfiles", [])),
                     f"{fn} not in [SourceDisksFiles]")
    need("sourcedisksnames" in s, "[SourceDisksNames] missing")

    for e in errors:
        print("FAIL:", e)
    print(f"{inf}: {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
