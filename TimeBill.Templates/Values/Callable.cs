using TimeBill.Templates.Evaluation;

namespace TimeBill.Templates.Values;

/// <summary>A function a template can call: a built-in global or one of the template's macros.</summary>
internal abstract class Callable(string name)
{
    public string Name { get; } = name;

    public abstract object? Invoke(Arguments arguments, Renderer renderer);
}

/// <summary>A built-in global function (<c>range</c>, <c>namespace</c>, <c>raise_exception</c>, ...).</summary>
internal sealed class BuiltinFunction(string name, Func<Arguments, Renderer, object?> body) : Callable(name)
{
    public override object? Invoke(Arguments arguments, Renderer renderer) => body(arguments, renderer);
}
