using System.Text;
using TimeBill.Templates.Syntax;
using TimeBill.Templates.Values;

namespace TimeBill.Templates.Evaluation;

/// <summary>
/// A <c>{% macro %}</c> as a function: called, it renders its body in a new scope over the scope it was defined in
/// and returns the text. Parameters without an argument take their default, or are undefined.
/// </summary>
internal sealed class Macro(MacroStatement definition, Scope closure) : Callable(definition.Name)
{
    public override object? Invoke(Arguments arguments, Renderer renderer)
    {
        var scope = new Scope(closure);
        var parameters = definition.Parameters;
        if (arguments.Positional.Count > parameters.Count && !definition.TakesVarargs)
            throw new RenderError($"macro '{Name}' takes not more than {parameters.Count} argument(s), {arguments.Positional.Count} given.");
        var given = new bool[parameters.Count];
        for (int i = 0; i < Math.Min(parameters.Count, arguments.Positional.Count); i++)
        {
            scope.Set(parameters[i].Name, arguments.Positional[i]);
            given[i] = true;
        }
        var extraKeywords = new DictValue();
        foreach (var (name, value) in arguments.Keywords)
        {
            int i = parameters.ToList().FindIndex(p => p.Name == name);
            if (i < 0)
            {
                if (!definition.TakesKwargs) throw new RenderError($"macro '{Name}' takes no keyword argument '{name}'.");
                extraKeywords.Set(name, value);
                continue;
            }
            if (given[i]) throw new RenderError($"macro '{Name}' got multiple values for argument '{name}'.");
            scope.Set(name, value);
            given[i] = true;
        }
        for (int i = 0; i < parameters.Count; i++)
        {
            if (given[i]) continue;
            scope.Set(parameters[i].Name, parameters[i].Default is { } fallback
                ? renderer.Evaluate(fallback, scope)
                : new Undefined($"parameter '{parameters[i].Name}' was not provided"));
        }
        if (definition.TakesVarargs) scope.Set("varargs", new ListValue([.. arguments.Positional.Skip(parameters.Count)], SequenceKind.Tuple));
        if (definition.TakesKwargs) scope.Set("kwargs", extraKeywords);
        var output = new StringBuilder();
        renderer.ExecuteMacroBody(definition.Body, scope, output);
        return output.ToString();
    }
}
