using TimeBill.Templates.Evaluation;

namespace TimeBill.Templates.Values;

/// <summary>Arguments that must be of one type, as Python insists: an int (or bool), a string.</summary>
internal static class Coerce
{
    public static long ToInt(object? value, string what) =>
        Numbers.AsInt(value) ?? throw new RenderError($"{what} must be an integer, not '{TypeNames.Of(value)}'.");

    public static string ToStr(object? value, string what) => value switch
    {
        string s => s,
        Markup m => m.Text,
        _ => throw new RenderError($"{what} must be a string, not '{TypeNames.Of(value)}'."),
    };
}
