"""Copied work within an assessment: the pairs of its submissions a worker found similar."""

from proofwork.web.similarity.service import SimilarPair, pairs_among

__all__ = ["SimilarPair", "pairs_among"]
