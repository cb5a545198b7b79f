namespace TimeBill.Templates.Values;

/// <summary><c>value.name</c> where <c>name</c> is a method of the value's type (<c>'a b'.split</c>, <c>d.items</c>), before it is called.</summary>
internal sealed record BoundMethod(object? Receiver, string Name);
