using TimeBill.Templates.Evaluation;
using TimeBill.Templates.Python;

namespace TimeBill.Templates.Values;

/// <summary>
/// Python's arithmetic: ints stay ints (overflow fails rather than wrapping), <c>/</c> gives a float, <c>//</c> and
/// <c>%</c> round toward negative infinity, <c>+</c> joins strings, lists and tuples, <c>*</c> repeats them.
/// Integers are 64-bit: an overflow throws <see cref="OverflowException"/>, which the renderer reports.
/// </summary>
internal static class Arithmetic
{
    public static object? Apply(string op, object? a, object? b)
    {
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
        return op switch
        {
            "+" => Add(a, b),
            "-" => Numeric(op, a, b, (x, y) => checked(x - y), (x, y) => x - y),
            "*" => Multiply(a, b),
            "/" => Divide(a, b),
            "//" => FloorDivide(a, b),
            "%" => a is string or Markup ? PyFormat.Percent(Printing.Str(a), b) : Modulo(a, b),
            "**" => Power(a, b),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    public static object? Negate(object? a, bool negate)
    {
        if (a is Undefined u) throw u.Fail();
        if (Numbers.AsInt(a) is long n) return negate ? checked(-n) : n;
        if (a is double d) return negate ? -d : d;
        throw new RenderError($"bad operand type for unary {(negate ? '-' : '+')}: '{TypeNames.Of(a)}'");
    }

    private static object? Add(object? a, object? b)
    {
        switch (a, b)
        {
            case (Markup m, string or Markup): return new Markup(m.Text + EscapedText(b));
            case (string s, Markup m): return new Markup(MarkupSafe.Escape(s) + m.Text);
            case (string x, string y): return x + y;
            case (ListValue x, ListValue y) when x.Kind == y.Kind && x.Kind is SequenceKind.List or SequenceKind.Tuple:
                return new ListValue([.. x.Items, .. y.Items], x.Kind);
            case (string or Markup, _): throw new RenderError($"can only concatenate str (not \"{TypeNames.Of(b)}\") to str");
            case (ListValue { Kind: SequenceKind.List }, _): throw new RenderError($"can only concatenate list (not \"{TypeNames.Of(b)}\") to list");
        }
        return Numeric("+", a, b, (x, y) => checked(x + y), (x, y) => x + y);
    }

    private static string EscapedText(object? s) => s is Markup m ? m.Text : MarkupSafe.Escape((string)s!);

    private static object? Multiply(object? a, object? b)
    {
        if (Repeatable(a) && Numbers.AsInt(b) is long n) return Repeat(a!, n);
        if (Repeatable(b) && Numbers.AsInt(a) is long m) return Repeat(b!, m);
        return Numeric("*", a, b, (x, y) => checked(x * y), (x, y) => x * y);
    }

    private static bool Repeatable(object? v) => v is string or Markup or ListValue { Kind: SequenceKind.List or SequenceKind.Tuple };

    private static object Repeat(object value, long times)
    {
        int n = (int)Math.Clamp(times, 0, int.MaxValue);
        return value switch
        {
            string s => string.Concat(Enumerable.Repeat(s, n)),
            Markup m => new Markup(string.Concat(Enumerable.Repeat(m.Text, n))),
            ListValue l => new ListValue([.. Enumerable.Repeat(l.Items, n).SelectMany(x => x)], l.Kind),
            _ => throw new ArgumentOutOfRangeException(nameof(value)),
        };
    }

    private static object Divide(object? a, object? b)
    {
        RequireNumbers("/", a, b);
        double y = Numbers.ToDouble(b!);
        if (y == 0) throw new RenderError("division by zero");
        return Numbers.ToDouble(a!) / y;
    }

    private static object FloorDivide(object? a, object? b)
    {
        RequireNumbers("//", a, b);
        if (Numbers.AsInt(a) is long x && Numbers.AsInt(b) is long y)
        {
            if (y == 0) throw new RenderError("integer division or modulo by zero");
            long q = x / y;
            return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q;
        }
        double dy = Numbers.ToDouble(b!);
        if (dy == 0) throw new RenderError("float floor division by zero");
        return Math.Floor(Numbers.ToDouble(a!) / dy);
    }

    private static object Modulo(object? a, object? b)
    {
        RequireNumbers("%", a, b);
        if (Numbers.AsInt(a) is long x && Numbers.AsInt(b) is long y)
        {
            if (y == 0) throw new RenderError("integer division or modulo by zero");
            long r = x % y;
            return r != 0 && (r < 0) != (y < 0) ? r + y : r;
        }
        double dx = Numbers.ToDouble(a!), dy = Numbers.ToDouble(b!);
        if (dy == 0) throw new RenderError("float modulo");
        double m = dx % dy;
        return m != 0 && (m < 0) != (dy < 0) ? m + dy : m;
    }

    private static object Power(object? a, object? b)
    {
        RequireNumbers("**", a, b);
        if (Numbers.AsInt(a) is long x && Numbers.AsInt(b) is long y && y >= 0)
        {
            long result = 1;
            for (long power = x, e = y; e > 0; e >>= 1)
            {
                if ((e & 1) == 1) result = checked(result * power);
                if (e > 1) power = checked(power * power); // would the square overflow, so would the result
            }
            return result;
        }
        double dx = Numbers.ToDouble(a!), dy = Numbers.ToDouble(b!);
        if (dx == 0 && dy < 0) throw new RenderError("0.0 cannot be raised to a negative power");
        return Math.Pow(dx, dy);
    }

    private static object Numeric(string op, object? a, object? b, Func<long, long, long> ints, Func<double, double, double> floats)
    {
        RequireNumbers(op, a, b);
        if (Numbers.AsInt(a) is long x && Numbers.AsInt(b) is long y) return ints(x, y);
        return floats(Numbers.ToDouble(a!), Numbers.ToDouble(b!));
    }

    private static void RequireNumbers(string op, object? a, object? b)
    {
        if (!Numbers.IsNumber(a) || !Numbers.IsNumber(b))
            throw new RenderError($"unsupported operand type(s) for {op}: '{TypeNames.Of(a)}' and '{TypeNames.Of(b)}'");
    }
}
