namespace TimeBill.Templates.Values;

/// <summary>Python's truth: none, false, zero, empty strings and containers, and undefined are false.</summary>
internal static class Truth
{
    public static bool IsTrue(object? value) => value switch
    {
        null => false,
        bool b => b,
        long n => n != 0,
        double d => d != 0,
        string s => s.Length > 0,
        Markup m => m.Text.Length > 0,
        ListValue l => l.Count > 0,
        DictValue d => d.Count > 0,
        Undefined => false,
        _ => true,
    };
}
