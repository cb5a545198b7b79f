using System.Text;
using TimeBill.Templates.Builtins;
using TimeBill.Templates.Syntax;
using TimeBill.Templates.Values;

namespace TimeBill.Templates.Evaluation;

/// <summary>
/// Runs a parsed template: statements write to the output, expressions evaluate to values with Python's semantics.
/// A failure is reported with the line of the innermost expression or statement where it happened.
/// </summary>
internal sealed class Renderer
{
    private const int MaxMacroDepth = 200;

    private readonly TimeProvider _clock;
    private object? _filterBlockText; // the body of the {% filter %} or {% set %} block whose filters are running
    private int _macroDepth;

    private Renderer(TimeProvider clock) => _clock = clock;

    /// <summary>The local wall-clock time, for <c>strftime_now</c>.</summary>
    public DateTime LocalNow => _clock.GetLocalNow().DateTime;

    public static string Render(IReadOnlyList<Statement> template, IEnumerable<KeyValuePair<string, object?>> variables, TimeProvider clock)
    {
        var scope = new Scope(Globals.Scope);
        foreach (var (name, value) in variables) scope.Set(name, value);
        var output = new StringBuilder();
        new Renderer(clock).Execute(template, scope, output);
        return output.ToString();
    }

    private Flow Execute(IReadOnlyList<Statement> body, Scope scope, StringBuilder output)
    {
        foreach (Statement statement in body)
        {
            Flow flow = ExecuteOne(statement, scope, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    public void ExecuteMacroBody(IReadOnlyList<Statement> body, Scope scope, StringBuilder output)
    {
        if (++_macroDepth > MaxMacroDepth) throw new RenderError($"macro calls nest deeper than {MaxMacroDepth} levels.");
        try { Execute(body, scope, output); }
        finally { _macroDepth--; }
    }

    private Flow ExecuteOne(Statement statement, Scope scope, StringBuilder output)
    {
        try
        {
            switch (statement)
            {
                case TextStatement text:
                    output.Append(text.Text);
                    return Flow.Normal;
                case OutputStatement o:
                    output.Append(Printing.Str(Evaluate(o.Value, scope)));
                    return Flow.Normal;
                case IfStatement i:
                    foreach (var (test, body) in i.Branches)
                        if (Truth.IsTrue(Evaluate(test, scope))) return Execute(body, scope, output);
                    return Execute(i.Otherwise, scope, output);
                case ForStatement f:
                    ExecuteFor(f, scope, output);
                    return Flow.Normal;
                case SetStatement s:
                    Assign(s.Target, Evaluate(s.Value, scope), scope);
                    return Flow.Normal;
                case SetBlockStatement s:
                    Assign(s.Target, RenderBlock(s.Body, s.Filter, scope), scope);
                    return Flow.Normal;
                case FilterBlockStatement f:
                    output.Append(Printing.Str(RenderBlock(f.Body, f.Filter, scope)));
                    return Flow.Normal;
                case WithStatement w:
                    var inner = new Scope(scope);
                    foreach (var (target, value) in w.Assignments) Assign(target, Evaluate(value, scope), inner);
                    return Execute(w.Body, inner, output);
                case MacroStatement m:
                    scope.Set(m.Name, new Macro(m, scope));
                    return Flow.Normal;
                case LoopControlStatement c:
                    return c.IsBreak ? Flow.Break : Flow.Continue;
                case GenerationStatement g:
                    return Execute(g.Body, new Scope(scope), output);
                default:
                    throw new InvalidOperationException($"no rule to run {statement.GetType().Name}");
            }
        }
        catch (RenderError e) { throw Located(e, statement.Line); }
        catch (OverflowException) { throw Overflow(statement.Line); }
    }

    /// <summary>A block's body rendered in its own scope, through its filters if it has any.</summary>
    private object? RenderBlock(IReadOnlyList<Statement> body, FilterExpression? filter, Scope scope)
    {
        var text = new StringBuilder();
        Execute(body, new Scope(scope), text);
        if (filter is null) return text.ToString();
        object? saved = _filterBlockText;
        _filterBlockText = text.ToString();
        try { return Evaluate(filter, scope); }
        finally { _filterBlockText = saved; }
    }

    private void ExecuteFor(ForStatement f, Scope scope, StringBuilder output)
    {
        var items = Iteration.ToList(Evaluate(f.Iterable, scope));
        if (f.Filter is not null)
            items = items.Where(item =>
            {
                var filterScope = new Scope(scope);
                Assign(f.Target, item, filterScope);
                return Truth.IsTrue(Evaluate(f.Filter, filterScope));
            }).ToList();
        if (items.Count == 0)
        {
            Execute(f.Otherwise, new Scope(scope), output);
            return;
        }
        var loop = new LoopContext(items);
        for (int i = 0; i < items.Count; i++)
        {
            var iteration = new Scope(scope);
            loop.Index0 = i;
            iteration.Set("loop", loop);
            Assign(f.Target, items[i], iteration);
            if (Execute(f.Body, iteration, output) == Flow.Break) break;
        }
    }

    private void Assign(AssignTarget target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameTarget n:
                scope.Set(n.Name, value);
                break;
            case TupleTarget t:
                if (!Iteration.IsIterable(value)) throw new RenderError($"cannot unpack non-iterable {TypeNames.Of(value)} object");
                var values = Iteration.ToList(value);
                if (values.Count < t.Items.Count) throw new RenderError($"not enough values to unpack (expected {t.Items.Count}, got {values.Count})");
                if (values.Count > t.Items.Count) throw new RenderError($"too many values to unpack (expected {t.Items.Count})");
                for (int i = 0; i < values.Count; i++) Assign(t.Items[i], values[i], scope);
                break;
            case NamespaceAttributeTarget a:
                if (!scope.TryGet(a.Namespace, out var ns) || ns is not Namespace space)
                    throw new RenderError($"cannot assign attribute '{a.Attribute}' on '{a.Namespace}': it is not a namespace() object");
                space.Attributes[a.Attribute] = value;
                break;
        }
    }

    public object? Evaluate(Expression expression, Scope scope)
    {
        try
        {
            return expression switch
            {
                LiteralExpression l => l.Value,
                NameExpression n => scope.TryGet(n.Name, out var value) ? value : Undefined.Variable(n.Name),
                ListExpression l => new ListValue([.. l.Items.Select(e => Evaluate(e, scope))]),
                TupleExpression t => new ListValue([.. t.Items.Select(e => Evaluate(e, scope))], SequenceKind.Tuple),
                DictExpression d => EvaluateDict(d, scope),
                AttributeExpression a => Access.GetAttribute(Evaluate(a.Target, scope), a.Name),
                ItemExpression i => Access.GetItem(Evaluate(i.Target, scope), i.Index is SliceExpression s ? EvaluateSlice(s, scope) : Evaluate(i.Index, scope)),
                UnaryExpression { Operator: "not" } u => !Truth.IsTrue(Evaluate(u.Operand, scope)),
                UnaryExpression u => Arithmetic.Negate(Evaluate(u.Operand, scope), u.Operator == "-"),
                BinaryExpression { Operator: "and" } b => Evaluate(b.Left, scope) is var left && !Truth.IsTrue(left) ? left : Evaluate(b.Right, scope),
                BinaryExpression { Operator: "or" } b => Evaluate(b.Left, scope) is var left && Truth.IsTrue(left) ? left : Evaluate(b.Right, scope),
                BinaryExpression b => Arithmetic.Apply(b.Operator, Evaluate(b.Left, scope), Evaluate(b.Right, scope)),
                ConcatExpression c => string.Concat(c.Parts.Select(p => Printing.Str(Evaluate(p, scope)))),
                CompareExpression c => EvaluateCompare(c, scope),
                ConditionalExpression c => Truth.IsTrue(Evaluate(c.Test, scope)) ? Evaluate(c.Then, scope)
                    : c.Otherwise is null ? new Undefined($"the inline if-expression on line {c.Line} evaluated to false and no else section was defined.")
                    : Evaluate(c.Otherwise, scope),
                FilterExpression f => Filters.Apply(f.Name, f.Target is null ? _filterBlockText : Evaluate(f.Target, scope), EvaluateArguments(f.Arguments, scope)),
                TestExpression t => Tests.Apply(t.Name, Evaluate(t.Target, scope), EvaluateArguments(t.Arguments, scope)),
                CallExpression c => Call(Evaluate(c.Target, scope), EvaluateArguments(c.Arguments, scope)),
                _ => throw new InvalidOperationException($"no rule to evaluate {expression.GetType().Name}"),
            };
        }
        catch (RenderError e) { throw Located(e, expression.Line); }
        catch (OverflowException) { throw Overflow(expression.Line); }
    }

    private DictValue EvaluateDict(DictExpression d, Scope scope)
    {
        var dict = new DictValue();
        foreach (var (key, value) in d.Pairs) dict.Set(Evaluate(key, scope), Evaluate(value, scope));
        return dict;
    }

    private SliceValue EvaluateSlice(SliceExpression s, Scope scope)
    {
        long? Bound(Expression? e) => e is null ? null : Evaluate(e, scope) switch
        {
            null => null,
            var v => Numbers.AsInt(v) ?? throw new RenderError($"slice indices must be integers or None, not '{TypeNames.Of(v)}'"),
        };
        return new SliceValue(Bound(s.Start), Bound(s.Stop), Bound(s.Step));
    }

    private bool EvaluateCompare(CompareExpression c, Scope scope)
    {
        object? left = Evaluate(c.First, scope);
        foreach (var (op, operand) in c.Rest)
        {
            object? right = Evaluate(operand, scope);
            bool holds = op switch
            {
                "==" => Equality.Equal(left, right),
                "!=" => !Equality.Equal(left, right),
                "in" => Membership.Contains(right, left),
                "notin" => !Membership.Contains(right, left),
                _ => Ordering.Compare(left, right, op),
            };
            if (!holds) return false;
            left = right;
        }
        return true;
    }

    private Arguments EvaluateArguments(CallArguments arguments, Scope scope) =>
        ReferenceEquals(arguments, CallArguments.None) ? Arguments.None : new Arguments(
            [.. arguments.Positional.Select(e => Evaluate(e, scope))],
            [.. arguments.Keywords.Select(k => new KeyValuePair<string, object?>(k.Name, Evaluate(k.Value, scope)))]);

    private object? Call(object? callee, Arguments arguments) => callee switch
    {
        Callable c => c.Invoke(arguments, this),
        BoundMethod m => Methods.Call(m, arguments),
        Undefined u => throw u.Fail(),
        _ => throw new RenderError($"'{TypeNames.Of(callee)}' object is not callable"),
    };

    private static TemplateRenderException Located(RenderError e, int line) =>
        e.RaisedByTemplate ? new TemplateRaisedException(line, e.Message) : new TemplateRenderException(line, e.Message);

    private static TemplateRenderException Overflow(int line) => new(line, "integer overflow (template integers are 64-bit).");
}
