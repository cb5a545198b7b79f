using TimeBill.Templates.Evaluation;

namespace TimeBill.Templates.Values;

/// <summary>
/// Jinja's default <c>Undefined</c>: a missing variable, attribute or item. It prints as nothing, is false, has length
/// 0 and iterates as empty; any other use (arithmetic, attribute access, a call, JSON) fails with <see cref="Message"/>.
/// </summary>
internal sealed class Undefined(string message)
{
    /// <summary>Why it is undefined, worded as Jinja words it.</summary>
    public string Message { get; } = message;

    public static Undefined Variable(string name) => new($"'{name}' is undefined");

    public static Undefined Attribute(object? owner, string name) => new($"'{TypeNames.ObjectRepr(owner)}' has no attribute '{name}'");

    public static Undefined Element(object? owner, object? key) =>
        key is string name ? Attribute(owner, name) : new($"{TypeNames.ObjectRepr(owner)} has no element {Printing.Repr(key)}");

    public RenderError Fail() => new(Message);
}
