"""A table's feature columns made into the network's inputs (Encoding): numeric columns as they
are, then each text column one-hot (scikit-learn's OneHotEncoder, fitted on the training part
only; a category it did not see there is all zeros, handle_unknown="ignore"). The same Encoding,
saved as arrays beside the weights and rebuilt from them, turns a user's raw rows (a DataFrame of
the file's columns) into inputs for the logged model, as training did."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Encoding:
    """Which columns are numbers, which are text, and the categories of each text column seen in
    the training part (sorted); the inputs are the numbers, then one 0/1 column per category."""

    numeric: tuple
    text: tuple = ()
    categories: tuple = ()  # one tuple of str per text column

    @classmethod
    def fit(cls, numeric, text, T_train):
        """The Encoding of numeric and text columns, text categories from T_train (m, n_text)."""
        if not text:
            return cls(tuple(numeric))
        encoder = _encoder().fit(T_train)
        return cls(tuple(numeric), tuple(text), tuple(tuple(c.tolist())
                                                       for c in encoder.categories_))

    @property
    def names(self):
        """The name of each input column: the numeric columns, then `colour_red`, … (the
        OneHotEncoder's names)."""
        if not self.text:
            return self.numeric
        names = self.encoder().get_feature_names_out(list(self.text))
        return self.numeric + tuple(names.tolist())

    def encoder(self):
        """The OneHotEncoder of the text columns, with this Encoding's categories."""
        categories = [np.asarray(c, dtype=object) for c in self.categories]
        first = np.array([[c[0] for c in self.categories]], dtype=object)
        return _encoder(categories).fit(first)  # categories given: fit only checks the shapes

    def transform(self, X, T=None):
        """Inputs (m, n_numeric + categories) of numeric columns X (m, n_numeric) and text
        columns T (m, n_text), unknown categories all zeros."""
        X = np.asarray(X, dtype=np.float64).reshape(len(X), len(self.numeric))
        if not self.text:
            return X
        return np.hstack([X, self.encoder().transform(np.asarray(T, dtype=object))])

    def of_frame(self, frame):
        """Inputs (m, n_inputs) of a user's raw rows: a DataFrame (or anything pandas makes one
        of) with the table's feature columns, by name, in any order; an empty text cell is an
        unknown category. ValueError, one line, for a missing column or an empty number."""
        import pandas as pd

        frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        absent = [c for c in (*self.numeric, *self.text) if c not in frame.columns]
        if absent:
            raise ValueError(f"the model needs the column{'s' * (len(absent) > 1)} "
                             f"{', '.join(map(repr, absent))} (it takes "
                             f"{', '.join((*self.numeric, *self.text))})")
        try:
            X = frame[list(self.numeric)].apply(pd.to_numeric).to_numpy(dtype=np.float64,
                                                                         na_value=np.nan)
        except (TypeError, ValueError) as error:
            raise ValueError(f"the columns {', '.join(self.numeric)} must be numbers "
                             f"({str(error).splitlines()[0]})") from None
        empty = np.isnan(X).any(axis=0)
        if empty.any():
            column = self.numeric[int(np.argmax(empty))]
            raise ValueError(f"column {column!r} has empty cells: the network needs a number")
        T = frame[list(self.text)].fillna("").astype(str).to_numpy(dtype=object)
        return self.transform(X, T)

    def frame_of(self, inputs):
        """The raw rows (a DataFrame of the feature columns) of inputs (m, n_inputs),
        unstandardised, whose text columns' categories are all known (rows of training)."""
        import pandas as pd

        n = len(self.numeric)
        frame = pd.DataFrame(inputs[:, :n], columns=list(self.numeric))
        if self.text:
            text = self.encoder().inverse_transform(inputs[:, n:])
            for j, column in enumerate(self.text):
                frame[column] = text[:, j].astype(str)
        return frame

    def arrays(self):
        """The Encoding as arrays of text (for an .npz read with allow_pickle=False)."""
        arrays = {"numeric": np.array(self.numeric, dtype=str),
                  "text": np.array(self.text, dtype=str)}
        for i, categories in enumerate(self.categories):
            arrays[f"categories_{i}"] = np.array(categories, dtype=str)
        return arrays

    @classmethod
    def of_arrays(cls, arrays):
        """The Encoding saved by arrays() (a dict, or an open .npz)."""
        text = tuple(arrays["text"].tolist())
        return cls(tuple(arrays["numeric"].tolist()), text,
                   tuple(tuple(arrays[f"categories_{i}"].tolist()) for i in range(len(text))))


def _encoder(categories="auto"):
    from sklearn.preprocessing import OneHotEncoder

    return OneHotEncoder(categories=categories, handle_unknown="ignore", sparse_output=False,
                         dtype=np.float64)
