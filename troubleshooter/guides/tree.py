"""Walking the decision tree.

The state of a walk is its query string: one parameter per answered question
(`?framework=langchain&symptom=stops-early`). Replaying it from the start gives the steps so
far and the question to ask next, so every step is a link that can be shared, bookmarked
and reached with the back button.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from troubleshooter.guides.content import (
    EARLIER_ANSWER,
    OTHER_FRAMEWORK,
    Answer,
    Cause,
    InfraSnippet,
    Leaf,
    Question,
    Tree,
)


class BadWalk(Exception):
    """A query string that no walk of this tree produces."""


@dataclass(frozen=True)
class Step:
    question: Question
    answer: Answer


@dataclass(frozen=True)
class Walk:
    steps: tuple[Step, ...]
    question: Question | None
    leaf: Leaf | None
    most_questions: int  # on the longest walk through here, these answered included
    earlier: Answer | None = None  # the answer to `question` that the person chose to change

    @property
    def question_number(self) -> int:
        return len(self.steps) + 1

    @property
    def framework_id(self) -> str | None:
        for step in self.steps:
            if step.question.asks_framework and step.answer.id != OTHER_FRAMEWORK:
                return step.answer.id
        return None

    def query(self, upto: int | None = None) -> str:
        """The query string for the first `upto` steps (all of them by default)."""
        steps = self.steps if upto is None else self.steps[:upto]
        return urlencode([(step.question.id, step.answer.id) for step in steps])

    def query_with(self, answer: Answer) -> str:
        """The query string after answering the current question with `answer`."""
        assert self.question is not None
        base = [(step.question.id, step.answer.id) for step in self.steps]
        return urlencode([*base, (self.question.id, answer.id)])

    def query_to_change(self, index: int) -> str:
        """Go back to step `index`, keeping earlier answers and the framework, and naming the
        answer being changed so the question can show which one it was."""
        kept = [(s.question.id, s.answer.id) for s in self.steps[:index]]
        kept += [
            (s.question.id, s.answer.id)
            for s in self.steps[index + 1 :]
            if s.question.asks_framework
        ]
        return urlencode([*kept, (EARLIER_ANSWER, self.steps[index].answer.id)])


def most_questions_from(tree: Tree, node_id: str, framework_id: str | None = None) -> int:
    """How many questions the longest walk from `node_id` to a leaf asks, `node_id` included.
    A walk whose framework is known follows that framework's routes; one whose framework is
    still to be asked may take any of them. The tree has no cycles (the guides check makes
    sure), so the recursion ends."""
    counted: dict[tuple[str, str | None], int] = {}

    def onward(answer: Answer, framework: str | None) -> int:
        if answer.next_by_framework and framework is None:
            return max(longest(target, None) for target in answer.targets)
        return longest(answer.next_for(framework), framework)

    def longest(node: str, framework: str | None) -> int:
        question = tree.questions.get(node)
        if question is None:
            return 0
        key = (node, framework)
        if key not in counted:
            # After the framework question, the answer chosen is the walk's framework.
            counted[key] = 1 + max(
                (onward(answer, answer.id if question.asks_framework else framework) for answer in question.answers),
                default=0,
            )
        return counted[key]

    return longest(node_id, framework_id)


def walk(tree: Tree, params: Mapping[str, Sequence[str]]) -> Walk:
    """Replay the answers in `params` from the start of the tree.

    Raises BadWalk for a parameter that names no question, an answer the question does not
    offer, or a question answered twice. Valid answers to questions off the path taken (left
    over from a changed answer) are ignored. An `earlier` answer must be one the question the
    walk stops at offers.
    """
    params = dict(params)
    earlier_ids = params.pop(EARLIER_ANSWER, None)
    if earlier_ids is not None and len(earlier_ids) != 1:
        raise BadWalk("The answer being changed is named more than once.")
    for key, values in params.items():
        if key not in tree.questions:
            raise BadWalk(f"'{key}' is not a question of the troubleshooter.")
        if len(values) != 1:
            raise BadWalk(f"The question '{key}' is answered more than once.")
        question = tree.questions[key]
        if question.answer(values[0]) is None:
            raise BadWalk(f"'{values[0]}' is not one of the answers to '{question.text}'")

    steps: list[Step] = []
    framework_id: str | None = None
    node_id = tree.start
    while node_id in tree.questions:
        question = tree.questions[node_id]
        answer_id = params.get(node_id, [None])[0]
        if answer_id is None:
            earlier = question.answer(earlier_ids[0]) if earlier_ids else None
            if earlier_ids and earlier is None:
                raise BadWalk(f"'{earlier_ids[0]}' is not one of the answers to '{question.text}'")
            most = len(steps) + most_questions_from(tree, node_id, framework_id)
            return Walk(steps=tuple(steps), question=question, leaf=None, most_questions=most, earlier=earlier)
        answer = question.answer(answer_id)
        assert answer is not None  # checked above
        steps.append(Step(question=question, answer=answer))
        if question.asks_framework:
            framework_id = answer.id
        node_id = answer.next_for(framework_id)
    if earlier_ids:
        raise BadWalk("This walk has no question left to change an answer to.")
    return Walk(steps=tuple(steps), question=None, leaf=tree.leaves[node_id], most_questions=len(steps))


@dataclass(frozen=True)
class PlatformFix:
    answer: Answer  # the answer that named the platform
    cause: Cause
    snippets: tuple[InfraSnippet, ...]


def platform_fix(current: Walk, causes: Mapping[str, Cause]) -> PlatformFix | None:
    """The infrastructure fix for what the person said runs in front of their app, to show at
    the leaf before the fix in code: someone who answered "a Kubernetes ingress" needs the
    ingress annotation, not a pointer to a long cause page. The snippets come from the
    likeliest of the leaf's causes that has any for the platforms the last such answer named.
    """
    if current.leaf is None:
        return None
    naming = next((step.answer for step in reversed(current.steps) if step.answer.platforms), None)
    if naming is None:
        return None
    for ranked in current.leaf.causes:
        cause = causes[ranked.cause_id]
        snippets = tuple(s for s in cause.infra if s.platform_id in naming.platforms)
        if snippets:
            return PlatformFix(answer=naming, cause=cause, snippets=snippets)
    return None
