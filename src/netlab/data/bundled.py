"""scikit-learn's bundled tables (iris, wine, breast cancer, digits): fixed rows, no parameters, no
seed. Each entry carries its (rows, features, rows of each class), so a config is checked without
importing scikit-learn or loading the table (tests/test_data.py checks them against the tables)."""

from netlab.data.sources import Sklearn, Source

TABLES = {
    "iris": Source(Sklearn("load_iris"), generated=False, seeded_by=None,
                   table=(150, 4, (50, 50, 50))),
    "wine": Source(Sklearn("load_wine"), generated=False, seeded_by=None,
                   table=(178, 13, (59, 71, 48))),
    "breast_cancer": Source(Sklearn("load_breast_cancer"), generated=False, seeded_by=None,
                            table=(569, 30, (212, 357))),
    "digits": Source(Sklearn("load_digits"), generated=False, seeded_by=None,
                     table=(1797, 64, (178, 182, 177, 183, 181, 182, 181, 179, 174, 180))),
}
