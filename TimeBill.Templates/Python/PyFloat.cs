using System.Globalization;

namespace TimeBill.Templates.Python;

/// <summary>Python's <c>repr(float)</c>: the shortest digits that read back the same, <c>1.0</c>, <c>1e-07</c>, <c>1e+16</c>, <c>inf</c>, <c>nan</c>.</summary>
internal static class PyFloat
{
    public static string Repr(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        string sign = double.IsNegative(value) ? "-" : "";
        if (value == 0) return sign + "0.0";
        // .NET's round-trip format gives the same shortest digits; only the layout differs from Python's.
        string r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOfAny(['E', 'e']);
        string mantissa = e < 0 ? r : r[..e];
        int exponent = e < 0 ? 0 : int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        int dot = mantissa.IndexOf('.');
        string digits = mantissa.Replace(".", "");
        int point = (dot < 0 ? mantissa.Length : dot) + exponent; // value = 0.DIGITS × 10^point
        int leading = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        point -= leading;
        if (point > -4 && point <= 16)
        {
            if (point <= 0) return $"{sign}0.{new string('0', -point)}{digits}";
            if (point >= digits.Length) return $"{sign}{digits}{new string('0', point - digits.Length)}.0";
            return $"{sign}{digits[..point]}.{digits[point..]}";
        }
        string fraction = digits.Length > 1 ? "." + digits[1..] : "";
        int shown = point - 1;
        return $"{sign}{digits[0]}{fraction}e{(shown < 0 ? '-' : '+')}{Math.Abs(shown):00}";
    }
}
