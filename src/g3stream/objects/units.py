"""G3Units: the in-memory unit conventions of G3 data (FORMAT.md 13.2).

G3 keeps physical quantities as plain numbers in a fixed system of units: a
quantity ``x`` measured in unit ``U`` is stored as ``x * U``, and read back
in unit ``U`` as ``value / U``.  Time is counted in 10 ns ticks
(``G3Units.s == 1e8``), so a frequency of 1 Hz is ``1e-8`` per tick.  The
names and values below are those of spt3g's ``core.G3Units``.
"""

from __future__ import annotations

import math

__all__ = ["G3Units", "G3Constants"]


class G3Units:
    """Unit constants: multiply to store a quantity, divide to read it in that unit."""

    # -- time (base: 10 ns tick) ----------------------------------------------
    nanosecond = 0.1
    microsecond = 100.0
    millisecond = 1e5
    second = 1e8
    minute = 6e9
    hour = 3.6e11
    day = 8.64e12
    ns = nanoseconds = nanosecond
    us = microseconds = microsecond
    ms = milliseconds = millisecond
    s = sec = seconds = second
    min = minutes = minute
    h = hours = hour
    days = day
    rel = 1.2e8  # spt3g's own odd constant, kept for compatibility

    # -- frequency --------------------------------------------------------------
    Hz = hz = 1e-8
    kHz = 1e-5
    MHz = 1e-2
    GHz = 10.0

    # -- power, current, voltage, resistance ----------------------------------
    watt = W = 1.0
    milliwatt = mW = 1e-3
    microwatt = uW = 1e-6
    nanowatt = nW = 1e-9
    picowatt = pW = 1e-12
    attowatt = aW = 1e-18
    horsepower = hp = 745.7
    ampere = amp = A = 1.0
    milliamp = mA = 1e-3
    microamp = uA = 1e-6
    nanoamp = nA = 1e-9
    volt = V = 1.0
    millivolt = mV = 1e-3
    microvolt = uV = 1e-6
    ohm = 1.0
    milliohm = mohm = 1e-3

    # -- temperature (base: millikelvin) --------------------------------------
    kelvin = K = 1000.0
    millikelvin = mK = 1.0
    microkelvin = uK = 1e-3
    nanokelvin = nK = 1.0000000000000002e-06  # as spt3g computes it
    picokelvin = pK = 1e-9
    rankine = R = 1800.0

    # -- angle and solid angle ---------------------------------------------------
    radian = radians = rad = 1.0
    degree = degrees = deg = math.pi / 180.0
    arcmin = deg / 60.0
    arcsec = arcmin / 60.0
    rahour = rahr = 15.0 * deg
    raminute = rahour / 60.0
    rasecond = raminute / 60.0
    steradian = steradians = sr = 1.0
    squaredegree = squaredegrees = sqdeg = deg2 = deg * deg
    squarearcmin = sqarcmin = arcmin2 = arcmin * arcmin

    # -- distance (base: millimetre) -------------------------------------------
    millimeter = mm = 1.0
    nanometer = nm = 1.0000000000000002e-06  # as spt3g computes it
    micron = 1e-3
    centimeter = cm = 10.0
    meter = meters = m = 1000.0
    kilometer = km = 1e6
    inch = 25.4
    foot = ft = 12.0 * inch
    au = AU = 149597870700000.0
    parsec = pc = 3.0856776376340066e19

    # -- pressure (base: bar) --------------------------------------------------
    bar = 1.0
    millibar = mb = 1e-3
    Pa = 1e-5
    kPa = 1e-2

    # -- mass (base: gram) -------------------------------------------------------
    gram = g = 1.0
    milligram = mg = 1e-3
    kilogram = kg = 1000.0

    # -- flux density: 1 Jy = 1e-26 W m^-2 Hz^-1 -----------------------------
    jansky = Jy = 1e-26 * W / (m * m) / Hz
    millijansky = mJy = 1e-3 * Jy
    microjansky = uJy = 1e-30
    megajansky = MJy = 1e-18

    # -- data sizes (base: byte) -----------------------------------------------
    byte = B = b = 1.0
    bit = 0.125
    kilobyte = KB = 1024.0
    megabyte = MB = 1024.0 * 1024.0
    gigabyte = GB = 1024.0 * 1024.0 * 1024.0

    snausage = 42.0


setattr(G3Units, "in", G3Units.inch)  # "in" is a Python keyword


class G3Constants:
    """Physical constants in G3 units (spt3g's ``core.G3Constants``): CODATA 2018 values."""

    #: Newton's gravitational constant
    G = 6.67430e-11 * G3Units.m**3 / G3Units.kg / G3Units.s**2
    #: temperature of the cosmic microwave background
    Tcmb = 2.7255 * G3Units.K
    #: speed of light in vacuum
    c = 299792458 * G3Units.m / G3Units.s
    #: elementary charge
    e = 1.602176634e-19 * G3Units.A * G3Units.s
    #: standard acceleration of gravity
    g0 = 9.80665 * G3Units.m / G3Units.s**2
    #: Planck constant
    h = 6.62607015e-34 * G3Units.W * G3Units.s * G3Units.s
    #: reduced Planck constant
    hbar = h / (2 * math.pi)
    #: Boltzmann constant
    k = kb = 1.380649e-23 * G3Units.W * G3Units.s / G3Units.K
