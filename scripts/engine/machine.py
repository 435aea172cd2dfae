"""Which machine this is: its description, its fingerprint and the id its results are filed under.

A result is "this build's" only when it was measured on a machine whose
fingerprint is this one's (docs/method.md#machine-identity). The fingerprint
holds what decides which kernels the frameworks run, and nothing that changes
from boot to boot:

* a CPU: vendor, family, model and stepping, the instruction-set features
  that oneDNN, MKL, Eigen and XNNPACK dispatch on (``ISA_FLAGS``), and the
  usable cores. The model string alone is not enough: a virtualised Xeon
  reports "Intel(R) Xeon(R) Processor" with or without AMX.
* a GPU: name, compute capability, memory, the CUDA version the driver
  reports, and how many are visible.

The description is read from this machine (``/proc/cpuinfo``, the affinity
mask and cgroup quota, ``nvidia-smi``) or, where ``GUIDE_MACHINE_FILE`` names
one, from a recorded description (JSON, ``describe()``'s shape): the tests build
the site "as" an AMD Zen 4 or a CPU without bf16 that way. A recorded
description changes what the engine believes, not the CPU the code runs on, so
the store refuses to file measurements under it in the repository's
``results/`` (``store.check_writable``).

>>> fp = cpu_fingerprint(ZEN4_EXAMPLE, cores=2)
>>> fp["vendor"], fp["family"], fp["model"], fp["isa"]["avx512_bf16"], fp["isa"]["amx_bf16"]
('amd', 25, 17, True, False)
>>> machine_id(fp)[:28]
'cpu-amd-25-17-avx512bf16-2c-'
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

# The CPU features the frameworks' kernel dispatch reads: AMX tiles and their types, the AVX-512
# extensions that give bf16/fp16/int8 dot products, AVX-512 itself, AVX2 and FMA (x86); SVE, bf16
# and int8 matrix multiply, dot products (Arm). A flag outside this list does not pick a kernel,
# so it stays out of the id and cannot split one machine kind into two.
ISA_FLAGS = ("amx_tile", "amx_bf16", "amx_int8", "amx_fp16", "avx512_bf16", "avx512_fp16", "avx512_vnni",
             "avx_vnni", "avx512f", "avx2", "fma", "sve", "sve2", "bf16", "i8mm", "asimddp")

# The one word of the id that says which class of kernels the CPU gets, strongest first.
ISA_TIERS = (("amx", ("amx_tile", "amx_bf16")), ("avx512bf16", ("avx512_bf16",)), ("avx512", ("avx512f",)),
             ("avx2", ("avx2",)), ("sve", ("sve",)), ("neon", ("asimddp",)))

VENDORS = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "HygonGenuine": "hygon", "CentaurHauls": "centaur"}
ARM_IMPLEMENTERS = {0x41: "arm", 0x42: "broadcom", 0x43: "cavium", 0x46: "fujitsu", 0x48: "hisilicon",
                    0x4E: "nvidia", 0x51: "qualcomm", 0x61: "apple", 0xC0: "ampere"}

# A recorded AMD EPYC (Zen 4) as /proc/cpuinfo shows it, cut to the lines the fingerprint reads.
ZEN4_EXAMPLE = """processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 17
model name	: AMD EPYC
stepping	: 1
flags		: fpu sse2 avx fma avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_vnni
"""


class MachineFileError(ValueError):
    """GUIDE_MACHINE_FILE names a file that is not a machine description."""


def _first_block(cpuinfo: str) -> dict[str, str]:
    """The first processor's ``key: value`` lines (every core of one machine reports the same)."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(re.sub(r"\s+", " ", key).strip(), value.strip())
    return fields


def _int(value: str | None) -> int | None:
    try:
        return int(value, 0) if value is not None else None
    except ValueError:
        return None


def cpu_flags_from(cpuinfo: str) -> frozenset[str]:
    """x86 ``flags`` or Arm ``Features``."""
    fields = _first_block(cpuinfo)
    return frozenset((fields.get("flags") or fields.get("Features") or "").split())


def cpu_model_from(cpuinfo: str) -> str | None:
    name = _first_block(cpuinfo).get("model name")
    return re.sub(r"\s+", " ", name).strip() if name else None


def cpu_fingerprint(cpuinfo: str, cores: int) -> dict:
    """What decides a CPU's kernels, from a /proc/cpuinfo text (see the module docstring)."""
    fields = _first_block(cpuinfo)
    flags = cpu_flags_from(cpuinfo)
    if "vendor_id" in fields:  # x86
        vendor = VENDORS.get(fields["vendor_id"], re.sub(r"[^a-z0-9]+", "", fields["vendor_id"].lower()))
        family, model, stepping = (_int(fields.get(k)) for k in ("cpu family", "model", "stepping"))
    else:  # Arm: implementer, part and variant/revision play the same parts
        implementer = _int(fields.get("CPU implementer"))
        vendor = ARM_IMPLEMENTERS.get(implementer, f"arm{implementer:x}" if implementer is not None else None)
        family, model = _int(fields.get("CPU architecture")), _int(fields.get("CPU part"))
        variant, revision = _int(fields.get("CPU variant")), _int(fields.get("CPU revision"))
        stepping = None if variant is None and revision is None else (variant or 0) * 16 + (revision or 0)
    return {"kind": "cpu", "vendor": vendor, "family": family, "model": model, "stepping": stepping,
            "model_name": cpu_model_from(cpuinfo), "isa": {flag: flag in flags for flag in ISA_FLAGS},
            "cores": cores}


def gpu_fingerprint(gpus: list[dict], cuda_driver: str | None) -> dict:
    """The first visible GPU's name, compute capability and memory, the driver's CUDA version, the count."""
    first = gpus[0]
    return {"kind": "gpu", "name": first.get("name"), "compute_capability": first.get("compute_capability"),
            "memory_mib": first.get("memory_mib"), "cuda_driver": cuda_driver, "count": len(gpus)}


def _slug(text: str | None, limit: int = 30) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "unknown").lower()).strip("-")[:limit].strip("-") or "unknown"


def isa_tier(isa: dict) -> str:
    """``amx``, ``avx512bf16``, ... : the strongest kernel class the flags allow; ``unknown`` where the
    deciding flags were not recorded."""
    for tier, flags in ISA_TIERS:
        values = [isa.get(flag) for flag in flags]
        if any(values):
            return tier
        if all(value is None for value in values):
            return "unknown"
    return "base"


def machine_id(fingerprint: dict) -> str:
    """The readable folder name of a fingerprint, ended by a hash over all of it.

    ``cpu-intel-6-207-amx-2c-1a2b3c4d``; a part that was not recorded reads ``unknown``
    (``cpu-intel-unknown-amx-2c-...``), and the hash still tells two fingerprints apart.
    """
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:8]
    if fingerprint.get("kind") == "gpu":
        cc = fingerprint.get("compute_capability")
        return (f"cuda-{_slug(fingerprint.get('name'))}-sm{str(cc).replace('.', '') if cc else 'unknown'}-"
                f"{fingerprint.get('count', 1)}gpu-{digest}")
    family, model = fingerprint.get("family"), fingerprint.get("model")
    where = f"{family}-{model}" if family is not None and model is not None else "unknown"
    cores = fingerprint.get("cores")
    return (f"cpu-{_slug(fingerprint.get('vendor'), 12)}-{where}-{isa_tier(fingerprint.get('isa') or {})}-"
            f"{cores if cores is not None else 'unknown'}c-{digest}")


def label(fingerprint: dict) -> str:
    """How a page names the machine: ``AMD EPYC (family 25, model 17; avx512_bf16, no AMX), 2 cores``."""
    if fingerprint.get("kind") == "gpu":
        memory = f", {fingerprint['memory_mib'] / 1024:.0f} GiB" if fingerprint.get("memory_mib") else ""
        cc = fingerprint.get("compute_capability") or "unknown"
        count = f"{fingerprint['count']}× " if fingerprint.get("count", 1) > 1 else ""
        return f"{count}{fingerprint.get('name')} (compute capability {cc}{memory}, CUDA {fingerprint.get('cuda_driver') or 'unknown'})"
    isa = fingerprint.get("isa") or {}
    family, model = fingerprint.get("family"), fingerprint.get("model")
    where = f"family {family}, model {model}" if family is not None else "family and model not recorded"
    name = fingerprint.get("model_name") or (fingerprint.get("vendor") or "unknown").upper() + " CPU"
    return f"{name} ({where}; {bf16_phrase(isa)}), {fingerprint.get('cores', '?')} cores"


def bf16_phrase(isa: dict) -> str:
    """``AMX``, ``avx512_bf16, no AMX``, ``no bf16`` or what was not recorded."""
    amx, bf16 = isa.get("amx_bf16"), isa.get("avx512_bf16")
    if amx:
        return "AMX"
    if bf16:
        return "avx512_bf16, no AMX" if amx is False else "avx512_bf16, AMX not recorded"
    if bf16 is None and amx is None:
        return "bf16 features not recorded"
    return "no bf16" if isa.get("bf16") is not True else "Arm bf16"


# --- This machine's description ------------------------------------------------------------------

def recorded_path() -> Path | None:
    raw = os.environ.get("GUIDE_MACHINE_FILE", "").strip()
    return Path(raw) if raw else None


@functools.lru_cache(maxsize=4)
def load_description(path: Path) -> dict:
    """A recorded description: {"cpuinfo": text, "usable_cores": n, "memory_bytes": n|null, "gpus": [...],
    "cuda_driver": "13.0"|null}. Raises MachineFileError naming what is wrong."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise MachineFileError(f"GUIDE_MACHINE_FILE={str(path)!r} is not a readable machine description "
                               f"(JSON): {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cpuinfo"), str) \
            or not isinstance(data.get("usable_cores"), int) or data["usable_cores"] < 1:
        raise MachineFileError(f"GUIDE_MACHINE_FILE={str(path)!r} is not a machine description: it needs "
                               "\"cpuinfo\" (the text of /proc/cpuinfo) and \"usable_cores\" (a whole number)")
    return data


def recorded() -> dict | None:
    path = recorded_path()
    return load_description(path) if path else None


@functools.lru_cache(maxsize=1)
def live_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpuinfo() -> str:
    description = recorded()
    return description["cpuinfo"] if description else live_cpuinfo()


def smi_gpus() -> tuple[list[dict], str | None]:
    """The visible NVIDIA GPUs from nvidia-smi (name, compute capability, memory) and the driver's CUDA
    version; ([], None) without a driver. A recorded description answers for itself."""
    description = recorded()
    if description is not None:
        return list(description.get("gpus") or []), description.get("cuda_driver")
    return _live_smi_gpus()


@functools.lru_cache(maxsize=1)
def _live_smi_gpus() -> tuple[list[dict], str | None]:
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return [], None
    smi = shutil.which("nvidia-smi")
    if not smi:
        return [], None
    listing = None
    # compute_cap is a query field of newer drivers only; an older one still lists the GPUs by name.
    for fields in ("name,compute_cap,memory.total", "name,memory.total", "name"):
        try:
            listing = subprocess.run([smi, f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=20, check=True).stdout
            break
        except (OSError, subprocess.SubprocessError):
            continue
    if listing is None:
        return [], None
    try:
        header = subprocess.run([smi], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        header = ""
    return parse_smi(listing, header, fields.split(","))


def parse_smi(listing: str, header: str, fields: list[str] | None = None) -> tuple[list[dict], str | None]:
    """``nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv,noheader,nounits`` and the
    plain ``nvidia-smi`` banner (its "CUDA Version: 13.0") as GPU records and the driver's CUDA version.

    >>> parse_smi("NVIDIA H100 80GB HBM3, 9.0, 81559\\n", "| NVIDIA-SMI 580.65  Driver Version: 580.65  CUDA Version: 13.0 |")
    ([{'name': 'NVIDIA H100 80GB HBM3', 'compute_capability': '9.0', 'memory_mib': 81559}], '13.0')
    >>> parse_smi("Tesla T4, [N/A]\\n", "", ["name", "memory.total"])  # an older driver: no compute_cap field
    ([{'name': 'Tesla T4', 'compute_capability': None, 'memory_mib': None}], None)
    """
    fields = fields or ["name", "compute_cap", "memory.total"]
    gpus = []
    for line in listing.splitlines():
        values = dict(zip(fields, (part.strip() for part in line.split(",")), strict=False))
        if values.get("name"):
            cc, memory = values.get("compute_cap") or "", values.get("memory.total") or ""
            gpus.append({"name": values["name"], "compute_capability": cc if re.fullmatch(r"\d+\.\d+", cc) else None,
                         "memory_mib": int(memory) if memory.isdigit() else None})
    found = re.search(r"CUDA Version:\s*([0-9.]+)", header)
    return gpus, found.group(1) if found else None


def fingerprint(device: str, cores: int) -> dict:
    """This machine's fingerprint for ``device`` ("cpu" or "cuda")."""
    if device == "cuda":
        gpus, cuda_driver = smi_gpus()
        if gpus:
            return gpu_fingerprint(gpus, cuda_driver)
    return cpu_fingerprint(cpuinfo(), cores)


def reset() -> None:
    """Forget what was read (a test that changes GUIDE_MACHINE_FILE in this process)."""
    load_description.cache_clear()
    live_cpuinfo.cache_clear()
    _live_smi_gpus.cache_clear()


# --- Results measured before fingerprints were recorded --------------------------------------------

def fingerprint_from_manifest(manifest: dict) -> dict:
    """The fingerprint an old manifest allows, each part it lacks left ``None`` (unknown), never guessed.

    Old CPU manifests hold the model string, the usable cores and the bf16 capability's evidence,
    which lists every flag of engine.environment.BF16_CPU_FLAGS the CPU had: those flags are known
    (present or absent); the rest of the ISA, family, model and stepping are not.
    """
    if manifest.get("fingerprint"):
        return manifest["fingerprint"]
    if manifest.get("device") == "cuda" and manifest.get("gpus"):
        return {"kind": "gpu", "name": manifest["gpus"][0], "compute_capability": None, "memory_mib": None,
                "cuda_driver": None, "count": len(manifest["gpus"])}
    model_name = manifest.get("cpu_model")
    vendor = ("intel" if model_name and "intel" in model_name.lower() else
              "amd" if model_name and "amd" in model_name.lower() else None)
    isa: dict = {flag: None for flag in ISA_FLAGS}
    evidence = ((manifest.get("capabilities") or {}).get("bf16") or {}).get("evidence", "")
    if evidence.startswith("CPU flags: ") or evidence.startswith("this CPU has none of the bf16 flags"):
        from engine.environment import BF16_CPU_FLAGS

        listed = set(evidence.removeprefix("CPU flags: ").replace(",", " ").split())
        for flag in BF16_CPU_FLAGS:
            isa[flag] = flag in listed
    return {"kind": "cpu", "vendor": vendor, "family": None, "model": None, "stepping": None,
            "model_name": model_name, "isa": isa, "cores": manifest.get("usable_cores")}
