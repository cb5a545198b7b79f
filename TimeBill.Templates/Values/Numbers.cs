namespace TimeBill.Templates.Values;

/// <summary>Python's numbers: bool is an int, an int meets a float as a float, and they compare by value.</summary>
internal static class Numbers
{
    public static bool IsNumber(object? value) => value is bool or long or double;

    /// <summary>A bool or int as an int; null for anything else.</summary>
    public static long? AsInt(object? value) => value switch { bool b => b ? 1 : 0, long n => n, _ => null };

    public static double ToDouble(object value) => value switch { bool b => b ? 1 : 0, long n => n, double d => d, _ => throw new InvalidCastException() };

    public static bool Equal(object a, object b)
    {
        if (AsInt(a) is long x && AsInt(b) is long y) return x == y;
        if (a is double da && b is double db) return da == db;
        (long n, double d) = a is double ad ? (AsInt(b)!.Value, ad) : (AsInt(a)!.Value, (double)b);
        return double.IsFinite(d) && Math.Floor(d) == d && d >= long.MinValue && d < 9.223372036854775807e18 && (long)d == n;
    }

    /// <summary>Orders two numbers; false for every comparison with NaN, as in Python.</summary>
    public static bool Compare(object a, object b, string op)
    {
        if (AsInt(a) is long x && AsInt(b) is long y) return Holds(x.CompareTo(y), op);
        double da = ToDouble(a), db = ToDouble(b);
        if (double.IsNaN(da) || double.IsNaN(db)) return false;
        return Holds(da.CompareTo(db), op);
    }

    public static bool Holds(int order, string op) => op switch
    {
        "<" => order < 0,
        "<=" => order <= 0,
        ">" => order > 0,
        ">=" => order >= 0,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
