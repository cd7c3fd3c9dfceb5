"""Named Izhikevich parameter sets (REFERENCE.md section 1).

2003 form: a, b, c, d are dimensionless rates/offsets, c in mV, vpeak = 30 mV.
2007 form: C in pF, k in nS/mV, vr, vt, vpeak, c in mV, a in 1/ms, b in nS, d in pA.
"""

PRESETS_2003: dict[str, dict[str, float]] = {
    "RS": dict(a=0.02, b=0.2, c=-65.0, d=8.0),
    "IB": dict(a=0.02, b=0.2, c=-55.0, d=4.0),
    "CH": dict(a=0.02, b=0.2, c=-50.0, d=2.0),
    "FS": dict(a=0.1, b=0.2, c=-65.0, d=2.0),
    "LTS": dict(a=0.02, b=0.25, c=-65.0, d=2.0),
    "TC": dict(a=0.02, b=0.25, c=-65.0, d=0.05),
    "RZ": dict(a=0.1, b=0.26, c=-65.0, d=2.0),
}

# The 2007 book's per-type special cases (cubic u-nullcline of FS, u-dependent peak of LTS/TC)
# are not implemented: these are the plain quadratic-model parameters of the book's table.
PRESETS_2007: dict[str, dict[str, float]] = {
    "RS": dict(C=100.0, k=0.7, vr=-60.0, vt=-40.0, vpeak=35.0, a=0.03, b=-2.0, c=-50.0, d=100.0),
    "IB": dict(C=150.0, k=1.2, vr=-75.0, vt=-45.0, vpeak=50.0, a=0.01, b=5.0, c=-56.0, d=130.0),
    "CH": dict(C=50.0, k=1.5, vr=-60.0, vt=-40.0, vpeak=25.0, a=0.03, b=1.0, c=-40.0, d=150.0),
    "LTS": dict(C=100.0, k=1.0, vr=-56.0, vt=-42.0, vpeak=40.0, a=0.03, b=8.0, c=-53.0, d=20.0),
    "TC": dict(C=200.0, k=1.6, vr=-60.0, vt=-50.0, vpeak=35.0, a=0.01, b=15.0, c=-60.0, d=10.0),
}

PARAMS_2003 = ("a", "b", "c", "d", "vpeak")
PARAMS_2007 = ("C", "k", "vr", "vt", "vpeak", "a", "b", "c", "d")
DEFAULT_VPEAK_2003 = 30.0

PRESETS = {"izhikevich2003": PRESETS_2003, "izhikevich2007": PRESETS_2007}
PARAM_NAMES = {"izhikevich2003": PARAMS_2003, "izhikevich2007": PARAMS_2007}
